"""GET /cost: the history's ledger over HTTP, the same report as ``ccw cost --json``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.server.conftest import SECRET, Dashboard
from tests.server.test_history_api import make_call


@pytest.fixture
def fake() -> Iterator[ProviderServer]:
    with ProviderServer() as srv:
        yield srv


def seed(data_dir: Path, project: Path, other: Path) -> None:
    """Priced calls on two endpoints, one unpriced, one in another project, one long ago."""
    from ccw.history import History
    from ccw.result import ExecutionResult, Usage

    now = datetime.now(UTC)
    moments = iter([now - timedelta(hours=n) for n in (1, 2, 3, 4)] + [now - timedelta(days=20)])
    rows: list[tuple[str | None, float | None, Path]] = [
        ("gpt", 0.25, project),
        ("gpt", 0.5, project),
        ("claude", 0.125, project),
        ("local-x", None, project),
        ("gpt", 9.0, other),
    ]
    with History(data_dir / "history.db", clock=lambda: next(moments)) as history:
        for endpoint_id, cost, cwd in rows:
            result = ExecutionResult(
                success=True,
                model="m",
                endpoint_id=endpoint_id,
                usage=Usage(1000, 10, 500, 0),
                cost=cost,
                cost_uncached=None if cost is None else cost * 2,
            )
            assert history.record(result, prompt="q", cwd=str(cwd)) is not None


def _report(dashboard: Dashboard, **params: str) -> dict[str, Any]:
    answer = dashboard.api("GET", "/cost", params=params)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def test_cost_is_the_cli_report(
    dashboard: Dashboard, run_ccw: RunCcw, server_env: dict[str, str], tmp_path: Path
) -> None:
    other = tmp_path / "other"
    (other / ".ccw").mkdir(parents=True)
    seed(Path(server_env["CCW_DATA_DIR"]), dashboard.project, other)
    for params in ({}, {"by": "endpoint", "since": "7d"}, {"by": "day,endpoint"}):
        api = _report(dashboard, **params)
        args = [f"--{name}={value}" for name, value in params.items()]
        done = run_ccw("cost", "--json", *args)
        assert done.returncode == 0, done.stderr
        cli = json.loads(done.stdout)
        for data in (api, cli):
            del data["since"], data["until"]
        assert api == cli
    every = _report(dashboard, by="endpoint")
    assert [(g["endpoint"], g["calls"], g["cost"]) for g in every["groups"]] == [
        ("gpt", 3, 9.75),
        ("claude", 1, 0.125),
        ("local-x", 1, None),
    ]
    assert every["totals"]["unpricedCalls"] == 1 and every["totals"]["saved"] == 9.875
    mine = _report(dashboard, by="endpoint", thisProject="true")
    assert mine["project"] == str(dashboard.project.resolve())
    assert mine["totals"]["cost"] == 0.875
    recent = _report(dashboard, since="24h")
    assert recent["totals"]["calls"] == 4 and recent["totals"]["cachedShare"] == 0.5


@pytest.mark.parametrize(
    ("params", "error", "fix"),
    [
        ({"since": "yesterday-ish"}, "cannot read --since", "7d"),
        ({"by": "weather"}, "cannot group by 'weather'", "day,endpoint"),
        ({"since": "x" * 65}, "", ""),
    ],
)
def test_bad_parameters_are_a_400_with_a_fix(
    dashboard: Dashboard, params: dict[str, str], error: str, fix: str
) -> None:
    answer = dashboard.api("GET", "/cost", params=params)
    if not error:  # a parameter past its length limit: the framework's own 422
        assert answer.status_code == 422
        return
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"].startswith(error) and fix in body["fix"]


def test_a_real_call_shows_in_the_cost(
    dashboard: Dashboard, run_ccw: RunCcw, fake: ProviderServer
) -> None:
    empty = _report(dashboard)
    assert empty["totals"]["calls"] == 0 and empty["totals"]["cost"] is None
    call_id = make_call(dashboard, run_ccw, fake)
    recorded = dashboard.api("GET", f"/history/{call_id}").json()
    data = _report(dashboard, by="endpoint")
    assert [g["endpoint"] for g in data["groups"]] == ["quick"]
    assert data["totals"]["calls"] == 1
    assert data["totals"]["tokens"]["input"] == recorded["usage"]["promptTokens"]
    assert data["totals"]["cost"] == recorded["cost"]
    assert data["totals"]["unpricedCalls"] == (1 if recorded["cost"] is None else 0)
    assert SECRET not in json.dumps(data)
