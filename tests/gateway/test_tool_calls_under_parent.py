"""A CLI tool on an endpoint: each model call it makes through the run's gateway is recorded
under the ``ccw cli`` call that started it (``parent_id``) and in that call's conversation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ccw.exec import events
from ccw.exec.executor import Request
from ccw.exec.tools.on_endpoint import EndpointToolExecutor, reserved_call_id
from ccw.history import open_history
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.gateway.conftest import KEY, write_config

NPM_BIN = Path(__file__).resolve().parents[2] / "requirements" / "npm" / "node_modules" / ".bin"


def needs(tool: str) -> None:
    if not (NPM_BIN / tool).exists():
        pytest.skip(f"make setup-dev installs {tool}")


def test_a_reserved_id_has_the_historys_form() -> None:
    first, second = reserved_call_id(), reserved_call_id()
    assert first.startswith("call-") and len(first) == len("call-YYMMDD-HHMMSS-abcd")
    assert first != second or first[:-4] == second[:-4]


def test_the_tools_calls_are_recorded_under_the_runs_id(
    project: Path, provider: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs("claude")
    monkeypatch.setenv("TEST_GW_KEY", KEY)
    monkeypatch.setenv("PATH", f"{NPM_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("CCW_TOOL_TIMEOUT", "120")
    config_path = write_config(project, provider.url + "/v1")
    executor = EndpointToolExecutor("claude", "gpt", config_path, packs=False)
    result = executor.run(Request(prompt="what is 6 times 7", cwd=project), events.ignore)
    assert result.success, result.error
    assert result.id is not None
    with open_history() as history:
        rows = history.list(limit=50)
    children = [row for row in rows if row["parentId"] == result.id]
    assert children, [(r["id"], r["tool"], r["parentId"]) for r in rows]
    assert all(row["conversationId"] == result.id for row in children)
    assert all(row["tool"].startswith("claude-cli") for row in children)


def test_ccw_cli_shows_the_tools_calls_in_the_runs_conversation(
    run_ccw: RunCcw, provider: ProviderServer, project: Path
) -> None:
    needs("claude")
    write_config(project, provider.url + "/v1")
    env = {
        "TEST_GW_KEY": KEY,
        "PATH": f"{NPM_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "CCW_TOOL_TIMEOUT": "120",
    }
    done = run_ccw(
        "cli", "--tool", "claude", "--model", "gpt", "-p", "hi", "--json", env=env, timeout=180
    )
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["id"]
    listed = run_ccw("cli", "history", "--conversation", run_id, "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    calls = json.loads(listed.stdout)["calls"]
    assert calls[0]["id"] == run_id or any(c["id"] == run_id for c in calls)
    children = [c for c in calls if c["parentId"] == run_id]
    assert children and all(c["tool"].startswith("claude-cli") for c in children)
    shown = run_ccw("cli", "detail", children[0]["id"], env=env)
    assert shown.returncode == 0, shown.stderr
    assert run_id in shown.stdout  # "continues: <the run>"
