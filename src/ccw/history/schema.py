"""The history database file: schema, migrations, connection settings, and recovery from damage.

Damage of any kind (SQLite reporting corruption, text that does not decode, a row that does not
read back as written) moves the file aside and starts a new one. A database that cannot be used
just now (locked, disk full, an I/O or permission error) is never taken for damaged.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

SCHEMA_VERSION = 2

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
    project TEXT,
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
    warnings TEXT NOT NULL DEFAULT '[]',
    output_chars INTEGER
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

# Version 2: the project of each call (the folder ``ccw.paths.find_project_root`` gives for
# its cwd) and the length of an answer the history kept only the start of.
_MIGRATE_TO_2 = """
ALTER TABLE calls ADD COLUMN project TEXT;
ALTER TABLE calls ADD COLUMN output_chars INTEGER;
"""
_INDEXES = "CREATE INDEX IF NOT EXISTS calls_project ON calls (project, seq);"

# SQLite result codes (low byte) saying the database cannot be used now, not that it is
# damaged: PERM, BUSY, LOCKED, NOMEM, READONLY, INTERRUPT, IOERR, FULL, CANTOPEN, PROTOCOL,
# NOLFS, AUTH.
_UNAVAILABLE_CODES = frozenset({3, 5, 6, 7, 8, 9, 10, 13, 14, 15, 22, 23})


class DamagedError(sqlite3.DatabaseError):
    """A row that does not read back as it was written."""


def is_corrupt(exc: BaseException) -> bool:
    """Damage, as opposed to a database that cannot be used just now.

    sqlite3 decodes text, even SQLite's error messages, as UTF-8: on a damaged file that
    fails with ``UnicodeDecodeError``. Errors of the sqlite3 module itself carry no code;
    of those only text that does not decode means damage.
    """
    if isinstance(exc, DamagedError | UnicodeDecodeError):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "decode" in str(exc).lower()
    return code & 0xFF not in _UNAVAILABLE_CODES


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed, readable by the user only) and migrate the database.

    A damaged file is moved aside with a warning on stderr and a new one is made.
    """
    try:
        return _connect(path)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
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
    try:
        path.replace(target)
    except FileNotFoundError:  # another process moved it first
        return target
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
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version < 1:
            db.executescript(_SCHEMA + _INDEXES + f"PRAGMA user_version = {SCHEMA_VERSION};")
        elif version < SCHEMA_VERSION:
            _migrate_to_2(db)
    except BaseException:
        db.close()
        raise
    return db


def _migrate_to_2(db: sqlite3.Connection) -> None:
    """Add the project column, filled from each old call's cwd, in one transaction."""
    from ccw.paths import find_project_root

    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            for statement in filter(str.strip, (_MIGRATE_TO_2 + _INDEXES).split(";")):
                db.execute(statement)
            cwds = [row[0] for row in db.execute("SELECT DISTINCT cwd FROM calls WHERE cwd != ''")]
            db.executemany(
                "UPDATE calls SET project = ? WHERE cwd = ?",
                [(str(find_project_root(Path(cwd))), cwd) for cwd in cwds],
            )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
