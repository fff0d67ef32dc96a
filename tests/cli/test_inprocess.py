"""The config commands in process, through Typer's ``CliRunner`` over ``ccw.cli.app``.

A fast layer under the subprocess tests: the same commands, output and exit codes, without
starting an interpreter per command. ``ccw.cli.app.main`` turns a ``CcwError`` into its exit
code; here the runner hands the error back and ``invoke`` reads the code from it the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ccw.cli.app import app
from ccw.errors import CcwError
from tests.cli.conftest import CONFIG, SECRET, write_config

RUNNER = CliRunner()


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str  # a CcwError's message and fix, as ``main`` writes them

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def invoke(
    project: Path, ccw_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Any:  # the returned function's type
    monkeypatch.chdir(project)
    monkeypatch.delenv("CCW_CONFIG", raising=False)
    env = {name: ccw_env[name] for name in ("HOME", "CCW_DATA_DIR", "NO_COLOR", "COLUMNS")}

    def run(*args: str) -> Outcome:
        result = RUNNER.invoke(app, list(args), env=env)
        error = result.exception
        if isinstance(error, CcwError):
            text = f"error: {error.message}\n" + (f"  fix: {error.fix}\n" if error.fix else "")
            return Outcome(error.exit_code, result.stdout, result.stderr + text)
        if error is not None and not isinstance(error, SystemExit):
            raise error
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return run


def test_providers_are_added_listed_shown_and_removed(invoke: Any, project: Path) -> None:
    added = invoke("provider", "add", "-t", "openai", "--id", "oai", "--api-key", SECRET, "--json")
    assert added.code == 0, added.stderr
    assert added.json()["provider"]["apiKey"] == "sk-…7890"
    assert "stored literally" in added.stderr
    assert SECRET in (project / CONFIG).read_text()

    table = invoke("provider", "list")
    assert table.code == 0
    assert "oai" in table.stdout and "local" in table.stdout and SECRET not in table.stdout
    listed = invoke("provider", "list", "--json").json()
    assert [p["id"] for p in listed["providers"]] == ["oai", "local"]
    shown = invoke("provider", "show", "oai", "--json").json()
    assert shown["apiKeySource"] == "literal"

    updated = invoke("provider", "update", "oai", "--timeout", "30", "--json")
    assert updated.code == 0 and updated.json()["provider"]["timeout"] == 30

    removed = invoke("provider", "remove", "oai")
    assert removed.code == 0 and "removed provider oai" in removed.stderr
    missing = invoke("provider", "show", "oai")
    assert missing.code == 4 and "provider not found: oai" in missing.stderr


def test_endpoints_are_added_listed_shown_defaulted_and_removed(invoke: Any) -> None:
    assert invoke("provider", "add", "-t", "openai", "--id", "oai").code == 0
    added = invoke("endpoint", "add", "gpt", "--provider", "oai", "--model", "gpt-4o")
    assert added.code == 0 and 'ccw cli -p "..." --model gpt' in added.stderr

    listed = invoke("endpoint", "list", "--json").json()
    assert [e["id"] for e in listed["endpoints"]] == ["gpt", "local"]
    shown = invoke("endpoint", "show", "gpt", "--json").json()
    assert shown["cacheStrategy"]["ttlMinutes"] == 60
    ttl = invoke("endpoint", "update", "gpt", "--ttl", "5", "--json")
    assert ttl.json()["endpoint"]["cacheStrategy"]["ttlMinutes"] == 5

    assert invoke("endpoint", "default", "local").code == 0
    assert invoke("config", "show").json()["defaultEndpoint"] == "local"
    again = invoke("endpoint", "add", "gpt", "--provider", "oai", "--model", "x")
    assert again.code == 2 and "already exists" in again.stderr
    orphan = invoke("endpoint", "add", "e2", "--provider", "ghost", "--model", "m")
    assert orphan.code == 4 and "provider not found: ghost" in orphan.stderr

    assert invoke("endpoint", "remove", "gpt").code == 0
    assert invoke("endpoint", "show", "gpt").code == 4


def test_config_path_show_and_validate(invoke: Any, project: Path) -> None:
    write_config(
        project,
        {
            "providers": [{"id": "p", "type": "openai", "apiKey": SECRET}],
            "endpoints": [{"id": "e", "providerId": "p", "model": "gpt-4o"}],
        },
    )
    path = invoke("config", "path")
    assert path.code == 0 and path.stdout.strip() == str(project / CONFIG)
    shown = invoke("config", "show")
    assert shown.code == 0 and SECRET not in shown.stdout
    assert shown.json()["providers"][0]["apiKey"] == "sk-…7890"
    valid = invoke("config", "validate")
    assert valid.code == 0 and "is valid" in valid.stderr


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{bad", "is not valid JSON"),
        ('{"providers": 1}', "is invalid"),
        ('{"version": 1, "version": 2}', "twice"),
    ],
)
def test_a_broken_file_is_exit_3_and_never_rewritten(
    invoke: Any, project: Path, text: str, words: str
) -> None:
    path = project / CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    for args in (("config", "validate"), ("provider", "list"), ("provider", "add", "-t", "openai")):
        outcome = invoke(*args)
        assert outcome.code == 3, (args, outcome)
        assert words in outcome.stderr and "fix:" in outcome.stderr
    assert path.read_text() == text


def test_bad_arguments_are_exit_2(invoke: Any) -> None:
    missing = invoke("provider", "add")
    assert missing.code == 2 and "Missing option" in missing.stderr
    unknown = invoke("provider", "add", "-t", "nope")
    assert unknown.code == 2
    assert invoke("endpoint", "frobnicate").code == 2
