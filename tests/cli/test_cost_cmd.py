"""``ccw cost`` through the real CLI over a real history: totals, groups, unpriced calls,
the cached share and savings, time ranges, projects, errors, and a real priced call."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import endpoint, provider, write_config
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer

NOW = datetime.now(UTC)


class At:
    """A clock that says what it is told: each recorded call's time."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _call(
    endpoint_id: str | None,
    cost: float | None,
    *,
    uncached: float | None = None,
    model: str = "gpt-4o",
    success: bool = True,
    usage: tuple[int, int, int, int] = (1000, 50, 600, 100),
) -> Any:
    from ccw.result import ExecutionResult, Usage

    prompt, output, read, write = usage
    return ExecutionResult(
        success=success,
        output="ok" if success else "",
        model=model,
        provider="p",
        endpoint_id=endpoint_id,
        usage=Usage(prompt, output, read, write, "5m"),
        cost=cost,
        cost_uncached=uncached,
        cost_source="litellm" if cost is not None else None,
        error=None if success else "refused",
    )


@pytest.fixture
def seeded(ccw_env: dict[str, str], project: Path, tmp_path: Path) -> Path:
    """Calls of this project and another over six weeks; returns the history file."""
    from ccw.history import History

    other = tmp_path / "other"
    (other / ".ccw").mkdir(parents=True)
    path = Path(ccw_env["CCW_DATA_DIR"]) / "history.db"
    clock = At()
    here, there = str(project), str(other)
    calls = [
        (timedelta(hours=1), _call("gpt", 0.01, uncached=0.04), here),
        (timedelta(hours=2), _call("gpt", 0.02, uncached=0.05), here),
        (timedelta(hours=3), _call("mine", None, model="my-model"), here),
        (timedelta(hours=4), _call("gpt", None, success=False), here),
        (timedelta(days=3), _call("claude", 0.5, model="claude-sonnet-4-5"), there),
        (timedelta(days=40), _call("gpt", 100.0, uncached=100.0), here),
    ]
    with History(path, clock=clock) as history:
        for ago, result, cwd in calls:
            clock.now = NOW - ago
            assert history.record(result, prompt="q", cwd=cwd) is not None
    return path


def _json(run_ccw: RunCcw, *args: str) -> dict[str, Any]:
    done = run_ccw("cost", "--json", *args)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_totals_over_the_last_30_days(run_ccw: RunCcw, seeded: Path) -> None:
    data = _json(run_ccw)
    totals = data["totals"]
    assert (data["source"], data["currency"], data["by"], data["groups"]) == (
        "local",
        "USD",
        [],
        [],
    )
    assert totals["calls"] == 5
    assert (totals["failedCalls"], totals["pricedCalls"], totals["unpricedCalls"]) == (1, 3, 1)
    assert totals["cost"] == pytest.approx(0.53)
    assert totals["saved"] == pytest.approx(0.06)  # (0.04 - 0.01) + (0.05 - 0.02)
    assert totals["tokens"] == {
        "input": 5000,
        "uncached": 1500,
        "cacheWrite": 500,
        "cacheRead": 3000,
        "output": 250,
    }
    assert totals["cachedShare"] == 0.6
    since = datetime.fromisoformat(data["since"])
    assert abs(since - (NOW - timedelta(days=30))) < timedelta(minutes=5)


def test_since_takes_spans_and_dates(run_ccw: RunCcw, seeded: Path) -> None:
    assert _json(run_ccw, "--since", "24h")["totals"]["calls"] == 4
    assert _json(run_ccw, "--since", "1w")["totals"]["cost"] == pytest.approx(0.53)
    assert _json(run_ccw, "--since", "60d")["totals"]["cost"] == pytest.approx(100.53)
    old = (NOW - timedelta(days=50)).astimezone().date().isoformat()
    assert _json(run_ccw, "--since", old)["totals"]["calls"] == 6
    future = _json(run_ccw, "--since", "2099-01-01")["totals"]
    assert (future["calls"], future["cost"], future["cachedShare"]) == (0, None, None)


def test_by_endpoint_costliest_first_and_unpriced_never_zero(run_ccw: RunCcw, seeded: Path) -> None:
    groups = _json(run_ccw, "--by", "endpoint")["groups"]
    assert [(g["endpoint"], g["calls"], g["cost"]) for g in groups] == [
        ("claude", 1, 0.5),
        ("gpt", 3, pytest.approx(0.03)),
        ("mine", 1, None),
    ]
    assert groups[2]["unpricedCalls"] == 1 and groups[1]["failedCalls"] == 1
    shown = run_ccw("cost", "--by", "endpoint", env={"TTY_COMPATIBLE": "1"})
    assert shown.returncode == 0, shown.stderr
    mine = next(line for line in shown.stdout.splitlines() if line.startswith("mine"))
    assert "unpriced" in mine and "$0" not in mine
    assert "Spend by endpoint since" in shown.stdout
    assert "total: 5 calls · $0.53 · saved $0.06 · 60% cached" in shown.stderr
    assert "1 unpriced call not in the cost" in shown.stderr


def test_by_day_and_endpoint_and_by_model(run_ccw: RunCcw, seeded: Path) -> None:
    groups = _json(run_ccw, "--by", "day,endpoint", "--since", "60d")["groups"]
    days = [g["day"] for g in groups]
    assert days == sorted(days) and len(set(days)) in (3, 4)  # the 4 h of calls may span 2
    assert (days[0], groups[0]["endpoint"], groups[0]["cost"]) == (
        (NOW - timedelta(days=40)).astimezone().date().isoformat(),
        "gpt",
        100.0,
    )
    models = _json(run_ccw, "--by", "model")["groups"]
    assert [g["model"] for g in models] == ["claude-sonnet-4-5", "gpt-4o", "my-model"]


def test_this_project_and_by_project(
    run_ccw: RunCcw, seeded: Path, project: Path, tmp_path: Path
) -> None:
    mine = _json(run_ccw, "--this-project")
    assert mine["project"] == str(project.resolve())
    assert (mine["totals"]["calls"], mine["totals"]["cost"]) == (4, pytest.approx(0.03))
    (project / "sub").mkdir()
    inside = run_ccw("cost", "--json", "--this-project", cwd=project / "sub")
    assert json.loads(inside.stdout)["totals"] == mine["totals"]
    groups = _json(run_ccw, "--by", "project")["groups"]
    assert [(g["project"], g["calls"]) for g in groups] == [
        (str((tmp_path / "other").resolve()), 1),
        (str(project.resolve()), 4),
    ]


def test_the_summary_reads_as_sentences_and_pipes_as_tsv(run_ccw: RunCcw, seeded: Path) -> None:
    shown = run_ccw("cost", env={"TTY_COMPATIBLE": "1"})
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "Spend since" in text and "every project" in text
    assert "5 (1 failed)" in text
    assert "5,000 tokens: 3,000 cached, 500 cache writes, 1,500 new" in text
    assert "$0.53" in text and "saved" in text and "$0.06" in text
    assert "1 call of unpriced models, not in the cost" in text
    assert "60% of input read from the cache" in text
    piped = run_ccw("cost", "--by", "endpoint")
    rows = [line.split("\t") for line in piped.stdout.splitlines()]
    assert [row[0] for row in rows] == ["claude", "gpt", "mine"]
    assert rows[0][1] == "1" and rows[0][6] == "$0.50"


def test_an_empty_history_says_so(run_ccw: RunCcw) -> None:
    done = run_ccw("cost")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("No calls since")


@pytest.mark.parametrize(
    ("args", "message", "fix"),
    [
        (("--since", "3 fortnights"), "cannot read --since '3 fortnights'", "7d, 24h"),
        (("--since", "2026-13-45"), "cannot read --since", "2026-11-01"),
        (("--by", "colour"), "cannot group by 'colour'", "endpoint, day, project, model"),
        (("--by", "day,endpoint,model"), "cannot group by", "two joined by a comma"),
        (("--by", "day,day"), "cannot group by", "day,endpoint"),
        (("--source", "cloud"), "unknown --source 'cloud'", "local, proxy or all"),
        (("--source", "proxy", "--by", "day"), "--by groups this machine's", "--source all"),
    ],
)
def test_bad_input_is_one_message_with_a_fix(
    run_ccw: RunCcw, seeded: Path, args: tuple[str, ...], message: str, fix: str
) -> None:
    before = seeded.read_bytes()
    done = run_ccw("cost", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"error: {message}")
    assert "fix:" in done.stderr and fix in done.stderr
    assert "Traceback" not in done.stderr
    assert seeded.read_bytes() == before


def test_a_real_priced_call_is_in_the_ledger(
    run_ccw: RunCcw, project: Path, ccw_env: dict[str, str]
) -> None:
    with ProviderServer() as server:
        write_config(
            project,
            {
                "providers": [provider("oai", "openai", server.url + "/v1", apiKey="${K}")],
                "endpoints": [endpoint("gpt", "oai", "gpt-4o", maxTokens=16)],
                "defaultEndpoint": "gpt",
            },
        )
        env = {"K": "sk-test-cost-0123456789"}
        called = [run_ccw("cli", "-p", f"hello {n}", "--json", env=env) for n in range(2)]
    for done in called:
        assert done.returncode == 0, done.stderr
    results = [json.loads(done.stdout) for done in called]
    assert all(r["cost"] and r["cost"] > 0 for r in results)
    data = _json(run_ccw, "--by", "model")
    assert data["totals"]["calls"] == 2 and data["totals"]["unpricedCalls"] == 0
    assert data["totals"]["cost"] == pytest.approx(sum(r["cost"] for r in results))
    prompt = sum(r["usage"]["promptTokens"] for r in results)
    assert data["totals"]["tokens"]["input"] == prompt
    assert [g["model"] for g in data["groups"]] == ["gpt-4o"]
    assert "sk-test-cost" not in json.dumps(data)


def test_ccw_cost_does_not_import_litellm(
    seeded: Path, project: Path, ccw_env: dict[str, str]
) -> None:
    probe = (
        "import sys\n"
        "from ccw.cli.app import main\n"
        "sys.argv = ['ccw', 'cost', '--by', 'day', '--json']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "sys.stderr.write(str('litellm' in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=project, env=ccw_env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "False"
    assert json.loads(done.stdout)["totals"]["calls"] == 5
