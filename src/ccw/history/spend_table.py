"""The ledger's running sums: table ``spend``, one row per quarter hour (UTC) and endpoint,
project and model, kept by triggers as calls are written, changed or removed.

A cost report or a budget's check reads these few rows instead of every call since a time.
Quarter hours, because every time zone's offset is a multiple of one: a call's local day is
its quarter hour's. ``''`` stands for a call without an endpoint or a project.
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


def key_values(t: str) -> list[str]:
    """The key of the row call ``t`` counts in: its quarter hour ``YYYY-MM-DDTHH:MM``."""
    return [
        f"substr({t}.created_at, 1, 14)"
        f" || printf('%02d', CAST(substr({t}.created_at, 15, 2) AS INTEGER) / 15 * 15)",
        f"IFNULL({t}.endpoint_id, '')",
        f"IFNULL({t}.project, '')",
        f"{t}.model",
    ]


def measures(t: str, sign: str = "") -> list[str]:
    return [f"{sign}({expression.format(t=t)})" for _, expression in MEASURES]


def _upsert(t: str, sign: str) -> str:
    names = ", ".join([*KEYS, *(name for name, _ in MEASURES)])
    values = ", ".join([*key_values(t), *measures(t, sign)])
    sums = ", ".join(f"{name} = {name} + excluded.{name}" for name, _ in MEASURES)
    return (
        f"INSERT INTO spend ({names}) VALUES ({values}) "
        f"ON CONFLICT ({', '.join(KEYS)}) DO UPDATE SET {sums};"
    )


def _script() -> str:
    columns = ",\n".join(
        f"    {name} {'REAL' if name in ('cost', 'saved') else 'INTEGER'} NOT NULL"
        for name, _ in MEASURES
    )
    names = ", ".join([*KEYS, *(name for name, _ in MEASURES)])
    sums = ", ".join(f"SUM({m})" for m in measures("calls"))
    return f"""
CREATE TABLE spend (
    bucket TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    project TEXT NOT NULL,
    model TEXT NOT NULL,
{columns},
    PRIMARY KEY ({", ".join(KEYS)})
) WITHOUT ROWID;
INSERT INTO spend ({names})
    SELECT {", ".join(key_values("calls"))}, {sums} FROM calls GROUP BY 1, 2, 3, 4;
DROP INDEX IF EXISTS calls_ledger;
CREATE INDEX IF NOT EXISTS calls_created ON calls (created_at);
CREATE TRIGGER calls_spend_insert AFTER INSERT ON calls BEGIN
    {_upsert("new", "")}
END;
CREATE TRIGGER calls_spend_delete AFTER DELETE ON calls BEGIN
    {_upsert("old", "-")}
END;
CREATE TRIGGER calls_spend_update AFTER UPDATE ON calls BEGIN
    {_upsert("old", "-")}
    {_upsert("new", "")}
END;
"""


def add_spend_table(db: sqlite3.Connection) -> None:
    """Create ``spend`` from the calls already recorded, and its triggers. The calls of a
    quarter hour a report's start cuts are found by time (``calls_created``); the index
    that held every column a report read (``calls_ledger``) has no use left."""
    run_script(db, _script())
