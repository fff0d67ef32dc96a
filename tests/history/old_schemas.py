"""Histories as older ccw versions left them: each undoes one migration."""

from __future__ import annotations

import sqlite3

SPEND_DAYS = "the ledger's sums per day, kept by triggers"
LEDGER_COLUMNS = (
    "cache_write_tokens",
    "cache_write_ttl",
    "cost_uncached",
    "cost_source",
    "cache_miss",
    "pack_key",
)


def drop_spend(conn: sqlite3.Connection) -> None:
    """Undo the migrations of the ledger's running sums (tables ``spend`` and
    ``spend_days``, their triggers)."""
    for trigger in ("insert", "delete", "update"):
        conn.execute(f"DROP TRIGGER calls_spend_{trigger}")
    conn.execute("DROP TABLE spend_days")
    conn.execute("DELETE FROM ccw_migrations WHERE name = ?", (SPEND_DAYS,))
    conn.execute("DROP TABLE spend")
    conn.execute("DROP INDEX calls_created")
    conn.execute(
        "CREATE INDEX calls_ledger ON calls (created_at, endpoint_id, project, model, tool, "
        "success, prompt_tokens, cached_tokens, cache_write_tokens, completion_tokens, cost, "
        "cost_uncached)"
    )
    conn.execute(
        "DELETE FROM ccw_migrations WHERE name = ?",
        ("the ledger's sums per quarter hour, kept by triggers",),
    )


def drop_ledger(conn: sqlite3.Connection) -> None:
    """Undo the ledger migrations, as a database from before them was."""
    drop_spend(conn)
    conn.execute("DROP INDEX calls_ledger")
    conn.execute("DROP INDEX calls_pack")
    for column in LEDGER_COLUMNS:
        conn.execute(f"ALTER TABLE calls DROP COLUMN {column}")
    conn.execute(
        "DELETE FROM ccw_migrations WHERE name = ?",
        ("calls carry the ledger: cache writes, uncached cost, pricing, pack",),
    )
