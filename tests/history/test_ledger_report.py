"""Cost reports in process: the running sums agree with the calls through inserts, updates
and deletes, a report's start cuts a quarter hour exactly, local days, and the parsing of
--since and --by."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccw.errors import UsageError
from ccw.history import History
from ccw.history.ledger import parse_by, parse_since
from ccw.history.spend_table import MEASURES, measures
from ccw.result import ExecutionResult, Usage
from tests.history.old_schemas import drop_spend

T0 = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)


class Clock:
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


def call(cost: float | None = 0.5, endpoint: str | None = "gpt", **usage: int) -> ExecutionResult:
    tokens = {"prompt_tokens": 100, "completion_tokens": 5, "cached_tokens": 40, **usage}
    return ExecutionResult(
        success=True,
        model="m",
        endpoint_id=endpoint,
        usage=Usage(**tokens),  # type: ignore[arg-type]
        cost=cost,
        cost_uncached=None if cost is None else cost + 0.25,
    )


def at(history: History, clock: Clock, moment: datetime, result: ExecutionResult) -> str:
    clock.now = moment
    call_id = history.record(result, prompt="q", cwd="")
    assert call_id is not None
    return call_id


def sums_agree(db: sqlite3.Connection) -> None:
    """Both tables of running sums equal the same sums taken over the calls."""
    names = ", ".join(f"TOTAL({name})" for name, _ in MEASURES)
    direct = ", ".join(f"TOTAL({m})" for m in measures("calls"))
    expected = tuple(db.execute(f"SELECT {direct} FROM calls").fetchone())
    for table in ("spend", "spend_days"):
        kept = db.execute(f"SELECT {names} FROM {table}").fetchone()
        assert tuple(kept) == pytest.approx(expected), table


def test_the_running_sums_follow_inserts_updates_and_deletes(
    history: History, clock: Clock
) -> None:
    ids = [
        at(history, clock, T0 + timedelta(minutes=n * 7), call(None if n == 3 else n / 10))
        for n in range(8)
    ]
    db = history._connection()
    sums_agree(db)
    db.execute("UPDATE calls SET cost = 2.0, endpoint_id = 'other' WHERE id = ?", (ids[3],))
    db.execute("DELETE FROM calls WHERE id IN (?, ?)", (ids[0], ids[5]))
    sums_agree(db)
    report = history.cost_report(T0 - timedelta(hours=1), by=("endpoint",))
    assert {g.key["endpoint"]: g.spend.calls for g in report.groups} == {"gpt": 5, "other": 1}
    assert report.totals.cost == pytest.approx(0.1 + 0.2 + 2.0 + 0.4 + 0.6 + 0.7)
    assert history.spent(T0 - timedelta(hours=1), endpoint_id="other") == 2.0


@pytest.mark.parametrize(
    ("since", "calls"),
    [
        (T0, 5),
        (T0 + timedelta(minutes=7), 4),
        (T0 + timedelta(minutes=14, seconds=59, milliseconds=999), 3),
        (T0 + timedelta(minutes=15), 2),
        (T0 + timedelta(minutes=15, milliseconds=1), 1),
        (T0 + timedelta(minutes=31), 0),
    ],
)
def test_a_start_inside_a_quarter_hour_counts_exactly(
    history: History, clock: Clock, since: datetime, calls: int
) -> None:
    for offset in (
        timedelta(0),
        timedelta(minutes=7),
        timedelta(minutes=14, seconds=59, milliseconds=999),
        timedelta(minutes=15),
        timedelta(minutes=30, seconds=1),
    ):
        at(history, clock, T0 + offset, call(1.0))
    assert history.cost_report(since).totals.calls == calls
    assert history.spent(since) == float(calls)


def test_any_start_counts_what_a_scan_of_the_calls_counts(history: History, clock: Clock) -> None:
    """Starts anywhere (mid quarter hour, on one, mid day, on a UTC midnight) over three
    days of calls: what the running sums give is what counting the calls gives, by endpoint
    (whole days from spend_days) and by day (quarter hours alone)."""
    rng = random.Random(3)
    made: list[tuple[datetime, float]] = []
    for n in range(60):
        moment = T0 + timedelta(seconds=rng.randrange(3 * 86400))
        moment = moment.replace(microsecond=rng.randrange(1000) * 1000)
        cost = rng.choice([0.25, 0.5, 1.0])
        at(history, clock, moment, call(cost, endpoint=f"e{n % 3}"))
        made.append((moment, cost))
    midnight = datetime(2026, 11, 6, tzinfo=UTC)
    starts = [midnight, midnight - timedelta(minutes=15), midnight + timedelta(minutes=7)]
    starts += [moment for moment, _ in rng.sample(made, 10)]
    starts += [T0 + timedelta(seconds=rng.randrange(3 * 86400)) for _ in range(10)]
    for since in starts:
        kept = [cost for moment, cost in made if moment >= since]
        by_endpoint = history.cost_report(since, by=("endpoint",)).totals
        by_day = history.cost_report(since, by=("day",)).totals
        for totals in (by_endpoint, by_day, history.cost_report(since).totals):
            assert totals.calls == len(kept), since
            assert totals.known_cost == pytest.approx(sum(kept)), since
        assert history.spent(since) == pytest.approx(sum(kept))
        assert history.spent(since, endpoint_id="e1") == pytest.approx(
            sum(c for n, (m, c) in enumerate(made) if m >= since and n % 3 == 1)
        )


def test_days_are_local_days(
    history: History, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30: a day starts at 18:30 UTC
    time.tzset()
    try:
        at(history, clock, datetime(2026, 11, 5, 18, 25, tzinfo=UTC), call(1.0))
        at(history, clock, datetime(2026, 11, 5, 18, 35, tzinfo=UTC), call(2.0))
        report = history.cost_report(T0, by=("day",))
        assert [(g.key["day"], g.spend.cost) for g in report.groups] == [
            ("2026-11-05", 1.0),
            ("2026-11-06", 2.0),
        ]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_history_from_before_the_running_sums_is_summed(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "history.db"
    with History(path, clock=clock) as history:
        for n in range(4):
            at(history, clock, T0 + timedelta(hours=n), call(0.25, endpoint=f"e{n % 2}"))
    with sqlite3.connect(path) as conn:
        drop_spend(conn)
        conn.execute("UPDATE calls SET cost = 1.0 WHERE endpoint_id = 'e1'")  # no trigger
    with History(path, clock=clock) as history:
        report = history.cost_report(T0, by=("endpoint",))
        assert [(g.key["endpoint"], g.spend.cost) for g in report.groups] == [
            ("e1", 2.0),
            ("e0", 0.5),
        ]
        sums_agree(history._connection())


def test_unpriced_failed_and_uncached_tokens_add_up(history: History, clock: Clock) -> None:
    at(history, clock, T0, call(None, cache_write_tokens=30))  # 100 in: 40 read, 30 written
    failed = ExecutionResult(success=False, model="m", endpoint_id=None, error="refused")
    at(history, clock, T0, failed)
    spend = history.cost_report(T0).totals
    assert (spend.calls, spend.failed_calls, spend.unpriced_calls, spend.priced_calls) == (
        2,
        1,
        1,
        0,
    )
    assert (spend.cost, spend.saved) == (None, None)
    assert (spend.uncached_tokens, spend.cache_write_tokens, spend.cache_read_tokens) == (
        30,
        30,
        40,
    )
    assert spend.cached_share == 0.4
    groups = history.cost_report(T0, by=("endpoint",)).groups
    assert [g.key["endpoint"] for g in groups] == [None, "gpt"]  # both unpriced: by name


NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        (" 2w ", NOW - timedelta(weeks=2)),
        ("2026-11-01T08:00:00+02:00", datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ],
)
def test_since_spans_and_times(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


def test_since_dates_today_and_month_are_local_midnights() -> None:
    day = parse_since("2026-11-01", NOW)
    assert (day.astimezone().date().isoformat(), day.astimezone().hour) == ("2026-11-01", 0)
    today = parse_since("today", NOW)
    assert today.astimezone().date() == NOW.astimezone().date() and today.astimezone().hour == 0
    month = parse_since("month", NOW)
    assert month.astimezone().day == 1 and month <= today
    naive = parse_since("2026-11-01T08:00", NOW)
    assert naive.tzinfo is not None and naive.astimezone().hour == 8
    assert parse_since("2026-11-01T08:00Z", NOW).tzinfo == UTC


@pytest.mark.parametrize("text", ["", "7", "7x", "-3d", "yesterday", "2026-02-30", "d7"])
def test_since_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(UsageError, match="cannot read --since") as caught:
        parse_since(text, NOW)
    assert caught.value.fix is not None and "7d" in caught.value.fix


def test_by_takes_one_or_two_dimensions() -> None:
    assert parse_by(None) == () and parse_by(" ") == ()
    assert parse_by("Endpoint") == ("endpoint",)
    assert parse_by("day, model") == ("day", "model")
    for bad in ("colour", "day,day", "day,endpoint,model", "day,"):
        with pytest.raises(UsageError, match="cannot group by"):
            parse_by(bad)
