"""Recent calls: a call made with ``ccw cli`` shows in the API."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.server.conftest import SECRET, Dashboard


@pytest.fixture
def fake() -> Iterator[ProviderServer]:
    with ProviderServer() as srv:
        yield srv


def make_call(dashboard: Dashboard, run_ccw: RunCcw, fake: ProviderServer) -> str:
    """One real ``ccw cli`` call through an endpoint added with the API; returns its id."""
    allowed = run_ccw("config", "allow-env", "FAKE_KEY")
    assert allowed.returncode == 0, allowed.stderr
    provider = {
        "id": "fake",
        "type": "openai",
        "apiKey": "${FAKE_KEY}",
        "apiBase": fake.url + "/v1",
    }
    assert dashboard.api("POST", "/providers", json=provider).status_code == 201
    endpoint = {"id": "quick", "providerId": "fake", "model": "test-model", "maxTokens": 16}
    assert dashboard.api("POST", "/endpoints", json=endpoint).status_code == 201
    called = run_ccw("cli", "-p", "say hello", "--model", "quick", env={"FAKE_KEY": SECRET})
    assert called.returncode == 0, called.stderr
    return str(dashboard.api("GET", "/history?limit=1").json()["history"][0]["id"])


def test_history_lists_and_shows_calls(
    dashboard: Dashboard, run_ccw: RunCcw, fake: ProviderServer
) -> None:
    assert dashboard.api("GET", "/health").json()["history"] is True
    before = dashboard.api("GET", "/changes").json()["history"]
    call_id = make_call(dashboard, run_ccw, fake)
    assert dashboard.api("GET", "/changes").json()["history"] != before

    listed = dashboard.api("GET", "/history", params={"limit": 10, "status": "ok"}).json()
    assert listed["count"] == 1
    record = listed["history"][0]
    assert record["endpointId"] == "quick" and record["success"] is True
    detail = dashboard.api("GET", f"/history/{call_id}")
    assert detail.json()["prompt"] == "say hello"
    assert SECRET not in detail.text

    assert dashboard.api("GET", "/history/call-nope").status_code == 404
    assert dashboard.api("GET", "/history", params={"status": "maybe"}).status_code == 422
    assert dashboard.api("GET", "/history", params={"limit": 0}).status_code == 422


def _record(cwd: Path, prompt: str) -> str:
    from ccw.history import open_history
    from ccw.result import ExecutionResult

    with open_history() as history:
        call_id = history.record(
            ExecutionResult(success=True, output="ok", model="m", provider="p"),
            prompt=prompt,
            cwd=str(cwd),
        )
    assert call_id is not None
    return call_id


def test_history_is_per_project(dashboard: Dashboard, tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / ".ccw").mkdir(parents=True)
    mine = _record(dashboard.project, "in this project")
    theirs = _record(other, "in another project")
    listed = dashboard.api("GET", "/history").json()
    assert [r["id"] for r in listed["history"]] == [mine]
    every = dashboard.api("GET", "/history", params={"all": "true"}).json()
    assert [r["id"] for r in every["history"]] == [theirs, mine]
    assert {r["project"] for r in every["history"]} == {
        str(dashboard.project.resolve()),
        str(other.resolve()),
    }


def test_a_damaged_history_is_moved_aside_not_a_500(
    dashboard: Dashboard, server_env: dict[str, str]
) -> None:
    damaged = _record(dashboard.project, "soon damaged")
    db = Path(server_env["CCW_DATA_DIR"]) / "history.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE calls SET prompt = CAST(X'ff41' AS TEXT), cached_files = '[1'")
    assert dashboard.api("GET", f"/history/{damaged}").status_code == 404
    for path in ("/history", "/changes", "/history?all=true"):
        assert dashboard.api("GET", path).status_code == 200
    assert dashboard.api("GET", "/history").json()["count"] == 0
    moved = [p for p in db.parent.glob("history.db.corrupt-*") if not p.name.endswith("-wal")]
    assert len([p for p in moved if not p.name.endswith("-shm")]) == 1
