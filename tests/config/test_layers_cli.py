"""The user's config beneath each project's, through the real CLI: one provider for every
repository, overrides by id, --global/--project, where each entry comes from, and the files
named when an id is unknown."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.config.conftest import ok, ok_json, read_json, user_error
from tests.conftest import RunCcw
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer

KEY_REF = "${OPENAI_API_KEY}"


def _user_file() -> Path:
    return Path(os.environ["CCW_USER_CONFIG_DIR"]) / "litellm-api-config.json"


def _git_repo(folder: Path) -> Path:
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    return folder


def test_a_provider_added_once_works_in_every_repository(run_ccw: RunCcw, tmp_path: Path) -> None:
    first = _git_repo(tmp_path / "first")
    second = _git_repo(tmp_path / "second")
    added = ok_json(
        run_ccw(
            "provider",
            "add",
            "-t",
            "openai",
            "--id",
            "oai",
            "--api-key",
            KEY_REF,
            "--json",
            cwd=first,
        )
    )
    # A repository without .ccw/ gets nothing written into it: the provider is the user's.
    assert added["scope"] == "user" and added["file"] == str(_user_file())
    assert not (first / ".ccw").exists()
    ok(run_ccw("endpoint", "add", "gpt", "-p", "oai", "-m", "gpt-4o", cwd=first))

    listed = ok_json(run_ccw("endpoint", "list", "--json", cwd=second))
    assert [e["id"] for e in listed["endpoints"]] == ["gpt", "local"]
    assert listed["sources"] == {"gpt": "user", "local": "built-in"}
    assert listed["defaultEndpoint"] == "gpt"
    providers = ok_json(run_ccw("provider", "list", "--json", cwd=second))
    assert providers["sources"]["oai"] == "user"
    table = ok(run_ccw("endpoint", "list", cwd=second)).stdout
    assert "user" in table and "built-in" in table
    assert not (second / ".ccw").exists()


def test_project_entries_override_the_users_by_id_and_its_default_wins(
    run_ccw: RunCcw, project: Path
) -> None:
    ok(run_ccw("provider", "add", "-t", "openai", "--id", "oai", "--api-key", KEY_REF, "--global"))
    ok(run_ccw("endpoint", "add", "gpt", "-p", "oai", "-m", "gpt-4o", "--global"))
    ok(run_ccw("endpoint", "add", "other", "-p", "oai", "-m", "gpt-4o-mini", "--global"))
    # The project has .ccw/: endpoints go there by default, on the user's provider.
    added = ok_json(run_ccw("endpoint", "add", "gpt", "-p", "oai", "-m", "gpt-4.1", "--json"))
    assert added["scope"] == "project"
    ok(run_ccw("endpoint", "default", "other"))

    listed = ok_json(run_ccw("endpoint", "list", "--json"))
    by_id = {e["id"]: e for e in listed["endpoints"]}
    assert by_id["gpt"]["model"] == "gpt-4.1"
    assert listed["sources"]["gpt"] == "project (over user)"
    assert listed["sources"]["other"] == "user"
    assert listed["defaultEndpoint"] == "other"
    user = read_json(_user_file())
    assert user["defaultEndpoint"] == "gpt"
    assert [e["model"] for e in user["endpoints"]] == ["gpt-4o", "gpt-4o-mini"]
    shown = ok(run_ccw("endpoint", "show", "gpt")).stdout
    assert "project (over user)" in shown

    # Removing without a flag removes where it is defined (the project's override first).
    ok(run_ccw("endpoint", "remove", "gpt"))
    listed = ok_json(run_ccw("endpoint", "list", "--json"))
    assert listed["sources"]["gpt"] == "user"


def test_update_with_project_copies_a_user_entry_as_an_override(
    run_ccw: RunCcw, config_file: Path
) -> None:
    ok(run_ccw("provider", "add", "-t", "openai", "--id", "oai", "--api-key", KEY_REF, "--global"))
    ok(run_ccw("endpoint", "add", "gpt", "-p", "oai", "-m", "gpt-4o", "--global"))
    updated = ok_json(
        run_ccw("endpoint", "update", "gpt", "--temperature", "0.5", "--project", "--json")
    )
    assert updated["scope"] == "project"
    assert [e["id"] for e in read_json(config_file)["endpoints"]] == ["gpt"]
    assert "temperature" not in read_json(_user_file())["endpoints"][0]
    # Removing from the user file by flag when only the user file holds it is refused here.
    gone = run_ccw("provider", "remove", "oai", "--project")
    user_error(gone, "not defined in", str(config_file))
    both = run_ccw("provider", "add", "-t", "openai", "--global", "--project")
    user_error(both, "--global and --project")


def test_unknown_endpoint_names_the_files_read_and_their_ids(
    run_ccw: RunCcw, config_file: Path
) -> None:
    ok(run_ccw("provider", "add", "-t", "ollama", "--id", "oll", "--global"))
    ok(run_ccw("endpoint", "add", "mine", "-p", "oll", "-m", "llama3", "--global"))
    for args in (("endpoint", "show", "nope"), ("cli", "-p", "hi", "--model", "nope")):
        err = user_error(run_ccw(*args), "endpoint not found: nope", str(_user_file()), "mine")
        assert str(config_file) in err and "no file" in err


def test_config_path_lists_every_file_read_in_order(run_ccw: RunCcw, config_file: Path) -> None:
    assert ok(run_ccw("config", "path")).stdout.splitlines() == [str(config_file)]
    ok(run_ccw("provider", "add", "-t", "ollama", "--id", "oll", "--global"))
    assert ok(run_ccw("config", "path")).stdout.splitlines() == [
        str(_user_file()),
        str(config_file),
    ]
    files = ok_json(run_ccw("config", "path", "--json"))["files"]
    assert [(f["scope"], f["exists"]) for f in files] == [("user", True), ("project", False)]

    alone = config_file.parent / "alone.json"
    chosen = run_ccw("--config", str(alone), "config", "path", "--json")
    assert ok_json(chosen)["files"] == [{"scope": "config", "path": str(alone), "exists": False}]
    # The one file --config selects is read alone: the user's provider is not there.
    missing = run_ccw("--config", str(alone), "provider", "show", "oll")
    user_error(missing, "provider not found: oll")
    refused = run_ccw("--config", str(alone), "provider", "add", "-t", "ollama", "--global")
    user_error(refused, "--global cannot be used with --config")


def test_validate_checks_each_file_and_the_references_between_them(
    run_ccw: RunCcw, config_file: Path
) -> None:
    ok(run_ccw("provider", "add", "-t", "ollama", "--id", "oll", "--global"))
    ok(run_ccw("endpoint", "add", "mine", "-p", "oll", "-m", "llama3", "--project"))
    report = ok_json(run_ccw("config", "validate", "--json"))
    assert report["valid"] is True and report["problems"] == []
    assert [f["scope"] for f in report["files"]] == ["user", "project"]

    _user_file().write_text('{"providers": [', encoding="utf-8")
    broken = run_ccw("config", "validate", "--json")
    assert broken.returncode == 3
    report = json.loads(broken.stdout)
    assert report["valid"] is False and str(_user_file()) in report["problems"][0]


def test_endpoint_show_prints_no_python_repr(run_ccw: RunCcw) -> None:
    ok(run_ccw("provider", "add", "-t", "ollama", "--id", "oll"))
    ok(run_ccw("endpoint", "add", "mine", "-p", "oll", "-m", "llama3", "--file-pattern", "*.md"))
    shown = ok(run_ccw("endpoint", "show", "mine")).stdout
    assert "{" not in shown and "'" not in shown
    assert "cacheStrategy.ttlMinutes" in shown and "*.md" in shown
    provider = ok(run_ccw("provider", "show", "oll")).stdout
    assert "{" not in provider and "source" in provider


def test_removing_a_user_provider_warns_about_project_endpoints_left_on_it(
    run_ccw: RunCcw,
) -> None:
    ok(run_ccw("provider", "add", "-t", "ollama", "--id", "oll", "--global"))
    ok(run_ccw("endpoint", "add", "mine", "-p", "oll", "-m", "llama3", "--project"))
    removed = ok(run_ccw("provider", "remove", "oll"))
    assert "endpoints mine still use provider oll" in removed.stderr
    user_error(run_ccw("config", "validate"), "no provider oll")


def test_a_call_in_a_second_repository_uses_the_users_provider(
    run_ccw: RunCcw, tmp_path: Path
) -> None:
    first = _git_repo(tmp_path / "one")
    second = _git_repo(tmp_path / "two")
    env = {"CCW_LAYER_KEY": "sk-layered-0123456789abcdef"}
    with ProviderServer() as server:
        base = server.url + "/v1"
        args = ("--type", "openai", "--id", "srv", "--api-base", base)
        ok(run_ccw("provider", "add", *args, "--api-key", "${CCW_LAYER_KEY}", cwd=first))
        ok(
            run_ccw(
                "endpoint",
                "add",
                "fast",
                "-p",
                "srv",
                "-m",
                "gpt-4o",
                "--max-tokens",
                "8",
                cwd=first,
            )
        )
        done = run_ccw("cli", "-p", "hello", "--model", "fast", env=env, cwd=second)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == DEFAULT_REPLY
        assert server.requests[-1].headers["authorization"] == "Bearer " + env["CCW_LAYER_KEY"]
    assert not (second / ".ccw").exists()
