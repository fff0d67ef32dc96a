"""The ledger's running sums: one row per quarter hour (table ``spend``) and per day
(``spend_days``, UTC) of each endpoint, project and model, kept by triggers as calls are
written, changed or removed.

A cost report or a budget's check reads these few rows instead of every call since a time:
whole days from ``spend_days``, the quarter hours before the first whole day from ``spend``.
Quarter hours, because every time zone's offset is a multiple of one: a call's local day is
its quarter hour's (a report by day reads ``spend`` alone). ``''`` stands for a call without
an endpoint or a project.
"""

from __future__ import annotations

import sqlite3

from ccw.sqlite import run_script

# Each sum and what one call ``{t}`` adds to it (``{t}``: new, old, or the calls table).
MEASURES: tuple[tuple[str, str], ...] = (
    ("calls", "1"),
    ("failed_calls", "{t}.success = 0"),
    ("priced_calls", "{t}.cost IS NOT NULL"),
    ("unpriced_calls", "{t}.success = 1 AND {t}.cost IS NULL"),
    ("input_tokens", "IFNULL({t}.prompt_tokens, 0)"),
    (
        "uncached_tokens",
        "IFNULL(MAX({t}.prompt_tokens - IFNULL({t}.cached_tokens, 0)"
        " - IFNULL({t}.cache_write_tokens, 0), 0), 0)",
    ),
    ("cache_write_tokens", "IFNULL({t}.cache_write_tokens, 0)"),
    ("cache_read_tokens", "IFNULL({t}.cached_tokens, 0)"),
    ("output_tokens", "IFNULL({t}.completion_tokens, 0)"),
    ("cost", "IFNULL({t}.cost, 0.0)"),
    ("compared_calls", "{t}.cost IS NOT NULL AND {t}.cost_uncached IS NOT NULL"),
    ("saved", "IFNULL({t}.cost_uncached - {t}.cost, 0.0)"),
)
KEYS = ("bucket", "endpoint_id", "project", "model")
# Each table of sums and the bucket a call ``{t}`` counts in: its quarter hour
# (``YYYY-MM-DDTHH:MM``), its day (``YYYY-MM-DD``), both UTC.
BUCKETS: dict[str, str] = {
    "spend": "substr({t}.created_at, 1, 14)"
    " || printf('%02d', CAST(substr({t}.created_at, 15, 2) AS INTEGER) / 15 * 15)",
    "spend_days": "substr({t}.created_at, 1, 10)",
}


def key_values(t: str, table: str = "spend") -> list[str]:
    """The key of the row of ``table`` that call ``t`` counts in."""
    return [
        BUCKETS[table].format(t=t),
        f"IFNULL({t}.endpoint_id, '')",
        f"IFNULL({t}.project, '')",
        f"{t}.model",
    ]


def measures(t: str, sign: str = "") -> list[str]:
    return [f"{sign}({expression.format(t=t)})" for _, expression in MEASURES]


def _upsert(table: str, t: str, sign: str) -> str:
    names = ", ".join([*KEYS, *(name for name, _ in MEASURES)])
    values = ", ".join([*key_values(t, table), *measures(t, sign)])
    sums = ", ".join(f"{name} = {name} + excluded.{name}" for name, _ in MEASURES)
    return (
        f"INSERT INTO {table} ({names}) VALUES ({values}) "
        f"ON CONFLICT ({', '.join(KEYS)}) DO UPDATE SET {sums};"
    )


def _create(table: str) -> str:
    """The table, filled from the calls already recorded."""
    columns = ",\n".join(
        f"    {name} {'REAL' if name in ('cost', 'saved') else 'INTEGER'} NOT NULL"
        for name, _ in MEASURES
    )
    names = ", ".join([*KEYS, *(name for name, _ in MEASURES)])
    sums = ", ".join(f"SUM({m})" for m in measures("calls"))
    return f"""
CREATE TABLE {table} (
    bucket TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    project TEXT NOT NULL,
    model TEXT NOT NULL,
{columns},
    PRIMARY KEY ({", ".join(KEYS)})
) WITHOUT ROWID;
INSERT INTO {table} ({names})
    SELECT {", ".join(key_values("calls", table))}, {sums} FROM calls GROUP BY 1, 2, 3, 4;
"""


def _triggers(tables: tuple[str, ...]) -> str:
    """Triggers keeping ``tables`` the sums of the calls: a removed call counts out, a
    changed one out as it was and in as it is."""
    added = "\n    ".join(_upsert(table, "new", "") for table in tables)
    removed = "\n    ".join(_upsert(table, "old", "-") for table in tables)
    return f"""
DROP TRIGGER IF EXISTS calls_spend_insert;
DROP TRIGGER IF EXISTS calls_spend_delete;
DROP TRIGGER IF EXISTS calls_spend_update;
CREATE TRIGGER calls_spend_insert AFTER INSERT ON calls BEGIN
    {added}
END;
CREATE TRIGGER calls_spend_delete AFTER DELETE ON calls BEGIN
    {removed}
END;
CREATE TRIGGER calls_spend_update AFTER UPDATE ON calls BEGIN
    {removed}
    {added}
END;
"""


def add_spend_table(db: sqlite3.Connection) -> None:
    """Create ``spend`` and its triggers. The calls of a quarter hour a report's start cuts
    are found by time (``calls_created``); the index that held every column a report read
    (``calls_ledger``) has no use left."""
    run_script(
        db,
        _create("spend")
        + "DROP INDEX IF EXISTS calls_ledger;\n"
        + "CREATE INDEX IF NOT EXISTS calls_created ON calls (created_at);\n"
        + _triggers(("spend",)),
    )


def add_spend_days(db: sqlite3.Connection) -> None:
    """Create ``spend_days``, and triggers keeping both tables."""
    run_script(db, _create("spend_days") + _triggers(("spend", "spend_days")))
