"""The ledger in the history: each call's cache reads and writes, prices and pack, what was
spent since a time, and the last call that sent a pack to an endpoint."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ccw.history import History
from ccw.result import ExecutionResult, Usage
from tests.history.old_schemas import LEDGER_COLUMNS, drop_ledger

T0 = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)


class Clock:
    """A settable clock: each call is recorded at ``now``."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def history(tmp_path: Path, clock: Clock) -> Iterator[History]:
    with History(tmp_path / "history.db", clock=clock) as store:
        yield store


def call(
    cost: float | None = 0.01,
    *,
    endpoint: str | None = "gpt",
    pack: str | None = "pack-1",
    success: bool = True,
    cached: int | None = 800,
) -> ExecutionResult:
    return ExecutionResult(
        success=success,
        output="ok",
        model="gpt-4o",
        provider="oai",
        endpoint_id=endpoint,
        usage=Usage(
            prompt_tokens=1000,
            completion_tokens=20,
            cached_tokens=cached,
            cache_write_tokens=150,
            cache_write_ttl="1h",
        ),
        cost=cost,
        cost_uncached=None if cost is None else cost * 4,
        cost_source=None if cost is None else "litellm",
        cache_miss=None if cached else "ttl expired",
        pack_key=pack,
    )


def test_a_call_keeps_its_ledger_fields(history: History) -> None:
    call_id = history.record(call(0.0025), prompt="q")
    assert call_id is not None
    record = history.get(call_id)
    assert record is not None
    assert record["usage"] == {
        "promptTokens": 1000,
        "completionTokens": 20,
        "cachedTokens": 800,
        "cacheWriteTokens": 150,
        "cacheWriteTtl": "1h",
        "uncachedTokens": 50,
    }
    assert (record["cost"], record["costUncached"], record["saved"]) == (0.0025, 0.01, 0.0075)
    assert (record["costSource"], record["cacheMiss"], record["packKey"]) == (
        "litellm",
        None,
        "pack-1",
    )
    listed = history.list()[0]
    assert listed["usage"] == record["usage"] and listed["saved"] == 0.0075


def test_an_unpriced_call_stays_unpriced(history: History) -> None:
    call_id = history.record(call(None, cached=0), prompt="q")
    record = history.get(call_id or "")
    assert record is not None
    assert (record["cost"], record["costUncached"], record["saved"]) == (None, None, None)
    assert (record["costSource"], record["cacheMiss"]) == (None, "ttl expired")


def test_spent_sums_known_costs_since_a_time(
    history: History, clock: Clock, tmp_path: Path
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        (folder / ".ccw").mkdir(parents=True)
    history.record(call(1.0), prompt="old", cwd=str(one))
    clock.now = T0 + timedelta(hours=2)
    history.record(call(0.25), prompt="a", cwd=str(one))
    history.record(call(None), prompt="unpriced", cwd=str(one))
    history.record(call(0.5, endpoint="claude"), prompt="b", cwd=str(two))
    since = T0 + timedelta(hours=1)
    assert history.spent(since) == 0.75
    assert history.spent(T0) == 1.75
    assert history.spent(since, endpoint_id="gpt") == 0.25
    assert history.spent(since, project=str(two)) == 0.5
    assert history.spent(since, endpoint_id="gpt", project=str(two)) == 0.0
    assert history.spent(T0 + timedelta(days=1)) == 0.0
    # A time in another zone is the same moment.
    local = (T0 + timedelta(hours=2)).astimezone(timezone(timedelta(hours=5)))
    assert history.spent(local) == 0.75


def test_last_sent_is_the_newest_successful_call_of_that_pack_and_endpoint(
    history: History, clock: Clock
) -> None:
    first = history.record(call(cached=0), prompt="1")
    clock.now = T0 + timedelta(minutes=3)
    second = history.record(call(cached=900), prompt="2")
    clock.now = T0 + timedelta(minutes=4)
    history.record(call(success=False), prompt="failed")
    history.record(call(endpoint="claude"), prompt="other endpoint")
    history.record(call(pack="pack-2"), prompt="other pack")
    history.record(call(endpoint=None, pack="pack-3"), prompt="no endpoint")

    found = history.last_sent("pack-1", "gpt", T0)
    assert found is not None and found["id"] == second
    assert found["usage"]["cachedTokens"] == 900 and found["usage"]["cacheWriteTokens"] == 150
    assert found["createdAt"] == "2026-11-05T12:03:00.000Z"
    older = history.last_sent("pack-1", "gpt", T0 - timedelta(hours=1))
    assert older is not None and older["id"] == second
    assert history.last_sent("pack-1", "gpt", T0 + timedelta(minutes=5)) is None
    assert history.last_sent("pack-9", "gpt", T0) is None
    none_endpoint = history.last_sent("pack-3", None, T0)
    assert none_endpoint is not None and none_endpoint["endpointId"] is None
    assert history.last_sent("pack-3", "gpt", T0) is None
    assert first is not None


def test_a_history_from_before_the_ledger_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with History(path) as history:
        old = history.record(call(0.5), prompt="old")
    with sqlite3.connect(path) as conn:
        drop_ledger(conn)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(calls)")}
        assert not columns & set(LEDGER_COLUMNS)
    with History(path) as history:
        record = history.get(old or "")
        assert record is not None
        assert record["cost"] == 0.5 and record["costUncached"] is None
        assert record["usage"]["cacheWriteTokens"] is None and record["packKey"] is None
        assert history.spent(datetime(2000, 1, 1, tzinfo=UTC)) == 0.5
        new = history.record(call(0.25), prompt="new")
        assert (history.get(new or "") or {})["packKey"] == "pack-1"


def test_reports_read_the_running_sums_and_a_quarter_hour_of_calls(history: History) -> None:
    """A report reads the ``spend`` table by its key, and the calls of a cut quarter hour
    by their time (never all the calls of a project)."""
    from ccw.history.ledger import _rows_since

    history.record(call(), prompt="q")
    db = history._connection()
    rows, params = _rows_since(T0, {"project": "/p"})
    plan = " ".join(str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {rows}", params))
    assert "SEARCH spend USING PRIMARY KEY (bucket>? AND bucket<?)" in plan, plan
    assert "SEARCH spend_days USING PRIMARY KEY (bucket>?)" in plan, plan
    assert "INDEX calls_created (created_at>? AND created_at<?)" in plan, plan
    plan = " ".join(
        str(row[3])
        for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT seq FROM calls WHERE pack_key = ? AND endpoint_id IS ? "
            "ORDER BY seq DESC LIMIT 1",
            ("p", "gpt"),
        )
    )
    assert "calls_pack" in plan, plan
