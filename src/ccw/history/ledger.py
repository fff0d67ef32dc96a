"""The ledger's reports: what calls cost since a time, in total or grouped.

A report is one SQL aggregate over the running sums per day and per quarter hour
(``ccw.history.spend_table``), and over the calls themselves only for the part of a quarter
hour a report's start cuts (found by their time).

Money is USD as each call was priced (LiteLLM's prices or a proxy's). A call whose model is
unpriced has no known cost: it is counted apart (``unpriced_calls``), never as $0, and a
group of unpriced calls alone has a cost of None. Days are local days, as budgets count them.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from ccw.errors import UsageError
from ccw.history.schema import stamp
from ccw.history.spend_table import KEYS, MEASURES, key_values, measures

# Each way to group a report, and the SQL that gives a call's key.
DIMENSIONS: dict[str, str] = {
    "endpoint": "NULLIF(endpoint_id, '')",
    "day": "date(at, 'localtime')",
    "project": "NULLIF(project, '')",
    "model": "model",
}
DEFAULT_SINCE = "30d"
SINCE_EXAMPLES = "e.g. 7d, 24h, 2w, today, month or 2026-11-01"
BY_EXAMPLES = "one of endpoint, day, project, model, or two joined by a comma (day,endpoint)"
_AGO = re.compile(r"(\d+)\s*([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Spend:
    """What a set of calls used and cost.

    ``input_tokens`` is every input token; of those ``cache_read_tokens`` came from the
    provider's prompt cache, ``cache_write_tokens`` were written to it and
    ``uncached_tokens`` were plain input. ``cost`` sums the known costs (None when no call
    had one); ``saved`` is what the prompt cache saved on the calls whose uncached cost is
    known (None when none is).
    """

    calls: int = 0
    failed_calls: int = 0
    priced_calls: int = 0
    unpriced_calls: int = 0
    input_tokens: int = 0
    uncached_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    known_cost: float = 0.0
    compared_calls: int = 0
    known_saved: float = 0.0

    @property
    def cost(self) -> float | None:
        return round(self.known_cost, 8) if self.priced_calls else None

    @property
    def saved(self) -> float | None:
        return round(self.known_saved, 8) if self.compared_calls else None

    @property
    def cached_share(self) -> float | None:
        """The share of input tokens read from the provider's cache."""
        if not self.input_tokens:
            return None
        return round(self.cache_read_tokens / self.input_tokens, 4)

    def __add__(self, other: Spend) -> Spend:
        return Spend(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "failedCalls": self.failed_calls,
            "pricedCalls": self.priced_calls,
            "unpricedCalls": self.unpriced_calls,
            "tokens": {
                "input": self.input_tokens,
                "uncached": self.uncached_tokens,
                "cacheWrite": self.cache_write_tokens,
                "cacheRead": self.cache_read_tokens,
                "output": self.output_tokens,
            },
            "cost": self.cost,
            "saved": self.saved,
            "cachedShare": self.cached_share,
        }


@dataclass(frozen=True)
class Group:
    """One group of a report: its key (a value per dimension; None: not recorded)."""

    key: dict[str, str | None]
    spend: Spend

    def to_dict(self) -> dict[str, Any]:
        return {**self.key, **self.spend.to_dict()}


@dataclass(frozen=True)
class CostReport:
    """Calls made from ``since`` to ``until`` (of ``project`` when given), in total and,
    with ``by``, grouped: days in order, other keys by cost, highest first."""

    since: datetime
    until: datetime
    by: tuple[str, ...]
    project: str | None
    totals: Spend
    groups: list[Group]

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": stamp(self.since),
            "until": stamp(self.until),
            "by": list(self.by),
            "project": self.project,
            "currency": "USD",
            "source": "local",
            "totals": self.totals.to_dict(),
            "groups": [group.to_dict() for group in self.groups],
        }


def report(
    db: sqlite3.Connection,
    since: datetime,
    until: datetime,
    *,
    by: Sequence[str] = (),
    project: str | None = None,
) -> CostReport:
    """The report of the calls in ``db`` made at ``since`` or later: one aggregate query
    (the totals are the sum of its few groups)."""
    _check_by(by, ",".join(by))
    keys = [f"{DIMENSIONS[name]} AS k{index}" for index, name in enumerate(by)]
    sums = [f"IFNULL(SUM({name}), 0)" for name, _ in MEASURES]
    rows, params = _rows_since(since, {"project": project}, days="day" not in by)
    sql = f"SELECT {', '.join([*keys, *sums])} FROM ({rows})"
    if by:
        sql += " GROUP BY " + ", ".join(f"k{index}" for index in range(len(by)))
    groups = []
    for row in db.execute(sql, params):
        spend = Spend(*row[len(by) :])
        if spend.calls:
            groups.append(Group(dict(zip(by, row[: len(by)], strict=True)), spend))
    totals = sum((group.spend for group in groups), Spend())
    groups.sort(key=lambda group: _order(group, by))
    return CostReport(since, until, tuple(by), project, totals, groups if by else [])


def spent(
    db: sqlite3.Connection,
    since: datetime,
    *,
    endpoint_id: str | None = None,
    project: str | None = None,
) -> float:
    """The sum of the known costs of the calls since ``since`` (see ``History.spent``)."""
    rows, params = _rows_since(since, {"endpoint_id": endpoint_id, "project": project})
    return float(db.execute(f"SELECT TOTAL(cost) FROM ({rows})", params).fetchone()[0])


def _rows_since(
    since: datetime, only: dict[str, str | None], *, days: bool = True
) -> tuple[str, list[Any]]:
    """SQL of rows ``(at, endpoint_id, project, model, sums...)`` that add up to the calls
    made at ``since`` or later (those of ``only``'s values, where not None).

    The calls themselves up to the first quarter hour that starts at ``since`` or after (by
    time, never by a project's index: that would read all its calls); from there the
    quarter hours of ``spend``, up to the first whole UTC day when ``days`` (a report not by
    local day); from that day on ``spend_days``."""
    start = datetime.fromisoformat(stamp(since))  # to the millisecond, as times are stored
    quarter = start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0)
    if quarter < start:
        quarter += timedelta(minutes=15)
    kept = {column: value for column, value in only.items() if value is not None}
    filters = "".join(f" AND {column} = ?" for column in kept)
    names = ", ".join(name for name, _ in MEASURES)
    columns = zip(
        ["at", *KEYS[1:], *(name for name, _ in MEASURES)],
        ["created_at", *key_values("calls")[1:], *measures("calls")],
        strict=True,
    )
    parts = [
        f"SELECT {', '.join(f'{value} AS {name}' for name, value in columns)} "
        f"FROM calls INDEXED BY calls_created WHERE created_at >= ? AND created_at < ?{filters}"
    ]
    params: list[Any] = [stamp(start), stamp(quarter), *kept.values()]
    quarters = f"SELECT bucket, endpoint_id, project, model, {names} FROM spend WHERE bucket >= ?"
    params.append(quarter.strftime("%Y-%m-%dT%H:%M"))
    if days:
        day = quarter.replace(hour=0, minute=0)
        if day < quarter:
            day += timedelta(days=1)
        parts.append(f"{quarters} AND bucket < ?{filters}")
        parts.append(
            f"SELECT bucket, endpoint_id, project, model, {names} FROM spend_days "
            f"WHERE bucket >= ?{filters}"
        )
        params += [day.strftime("%Y-%m-%dT%H:%M"), *kept.values()]
        params += [day.strftime("%Y-%m-%d"), *kept.values()]
    else:
        parts.append(f"{quarters}{filters}")
        params += kept.values()
    return " UNION ALL ".join(parts), params


def _order(group: Group, by: Sequence[str]) -> tuple[Any, ...]:
    """Days oldest first; within a day (or without days) the costliest first, the unpriced
    after the priced, then the most calls."""
    parts: list[Any] = []
    for name in by:
        value = group.key[name]
        if name == "day":
            parts.append(value or "")
    spend = group.spend
    parts += [spend.cost is None, -(spend.cost or 0.0), -spend.calls]
    parts += [str(group.key[name] or "") for name in by if name != "day"]
    return tuple(parts)


def parse_by(text: str | None) -> tuple[str, ...]:
    """``--by``: none, one dimension, or two joined by a comma (``day,endpoint``)."""
    if text is None or not text.strip():
        return ()
    names = tuple(part.strip().lower() for part in text.split(","))
    _check_by(names, text)
    return names


def _check_by(names: Sequence[str], text: str) -> None:
    if len(names) > 2 or len(set(names)) != len(names) or set(names) - set(DIMENSIONS):
        raise UsageError(f"cannot group by {text!r}", f"--by takes {BY_EXAMPLES}")


def parse_since(text: str, now: datetime) -> datetime:
    """``--since``: a span back from ``now`` (``24h``, ``7d``, ``2w``), ``today`` or ``month``
    (local midnight, the first of the local month), or a date or time (``2026-11-01`` is
    local midnight; a time without a zone is local)."""
    value = text.strip().lower()
    local_now = now.astimezone()
    ago = _AGO.fullmatch(value)
    if ago is not None:
        return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    if value == "today":
        return _local_midnight(local_now.date())
    if value == "month":
        return _local_midnight(local_now.date().replace(day=1))
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return _local_midnight(date.fromisoformat(value))
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise UsageError(
            f"cannot read --since {text!r}", f"give a span or a date, {SINCE_EXAMPLES}"
        )
    return moment if moment.tzinfo is not None else moment.astimezone()


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time()).astimezone()
