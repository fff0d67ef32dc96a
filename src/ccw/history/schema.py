"""The history database file: schema, connection settings, and recovery from corruption."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    tool TEXT NOT NULL,
    endpoint_id TEXT,
    provider TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT '',
    cwd TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL,
    output TEXT NOT NULL DEFAULT '',
    messages TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cached_tokens INTEGER,
    cost REAL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    success INTEGER NOT NULL,
    exit_code INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    error_kind TEXT,
    fix TEXT,
    cache_used INTEGER NOT NULL DEFAULT 0,
    cached_files TEXT NOT NULL DEFAULT '[]',
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS calls_tool ON calls (tool, seq);
CREATE VIRTUAL TABLE IF NOT EXISTS calls_fts USING fts5 (
    prompt, output, content='calls', content_rowid='seq'
);
CREATE TRIGGER IF NOT EXISTS calls_fts_insert AFTER INSERT ON calls BEGIN
    INSERT INTO calls_fts (rowid, prompt, output) VALUES (new.seq, new.prompt, new.output);
END;
CREATE TRIGGER IF NOT EXISTS calls_fts_delete AFTER DELETE ON calls BEGIN
    INSERT INTO calls_fts (calls_fts, rowid, prompt, output)
    VALUES ('delete', old.seq, old.prompt, old.output);
END;
"""

# SQLITE_CORRUPT and SQLITE_NOTADB: the file is damaged or is not a database at all.
_CORRUPT_CODES = (11, 26)


def is_corrupt(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlite3.DatabaseError)
        and code is not None
        and code & 0xFF in (_CORRUPT_CODES)
    )


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed, readable by the user only) and migrate the database.

    A corrupt file is moved aside with a warning on stderr and a new one is made.
    """
    try:
        return _connect(path)
    except sqlite3.DatabaseError as exc:
        if not is_corrupt(exc):
            raise
    move_aside(path)
    return _connect(path)


def move_aside(path: Path) -> Path:
    """Rename a damaged database (and its WAL files) to ``<name>.corrupt-<timestamp>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 2
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    path.replace(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            side.replace(target.with_name(target.name + suffix))
    sys.stderr.write(
        f"warning: the history database {path} was damaged; moved it to {target.name} "
        "and started a new one\n"
    )
    return target


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    try:
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout = 10000")
        with contextlib.suppress(sqlite3.OperationalError):
            db.execute("PRAGMA journal_mode = WAL")  # some filesystems refuse WAL
        db.execute("PRAGMA synchronous = NORMAL")
        if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            db.executescript(_SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
    except BaseException:
        db.close()
        raise
    return db
