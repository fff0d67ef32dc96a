"""Histories as older ccw versions left them: each undoes one migration."""

from __future__ import annotations

import sqlite3

LEDGER_COLUMNS = (
    "cache_write_tokens",
    "cache_write_ttl",
    "cost_uncached",
    "cost_source",
    "cache_miss",
    "pack_key",
)


def drop_ledger(conn: sqlite3.Connection) -> None:
    """Undo the ledger migration, as a database from before it was."""
    conn.execute("DROP INDEX calls_ledger")
    conn.execute("DROP INDEX calls_pack")
    for column in LEDGER_COLUMNS:
        conn.execute(f"ALTER TABLE calls DROP COLUMN {column}")
    conn.execute(
        "DELETE FROM ccw_migrations WHERE name = ?",
        ("calls carry the ledger: cache writes, uncached cost, pricing, pack",),
    )
