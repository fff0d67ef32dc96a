"""One way to open ccw's SQLite databases (the context cache and the history).

``open_database`` connects with a busy timeout, WAL and ``synchronous=NORMAL``, and applies
named migrations in order, each once (a table lists those applied; databases from before
that table count their ``PRAGMA user_version`` first migrations as applied).

Errors fall in two kinds. *Damage* (SQLite reporting corruption, text that does not decode,
a row that does not read back as written: ``DamagedError``) means the file is to be moved
aside (``move_aside``) and a new one started. A database that cannot be used just now
(locked, disk full, an I/O or permission error) is never damaged: it is left as it is.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# SQLite result codes (low byte) saying the database cannot be used now, not that it is
# damaged: PERM, BUSY, LOCKED, NOMEM, READONLY, INTERRUPT, IOERR, FULL, CANTOPEN, PROTOCOL,
# NOLFS, AUTH. Any other error of SQLite itself means a damaged file.
UNAVAILABLE_CODES = frozenset({3, 5, 6, 7, 8, 9, 10, 13, 14, 15, 22, 23})
LOCK_CODES = frozenset({5, 6})  # BUSY, LOCKED
MIGRATIONS_TABLE = "ccw_migrations"


class DamagedError(sqlite3.DatabaseError):
    """A row or blob that does not read back as it was written."""


@dataclass(frozen=True)
class Migration:
    """One step of a schema, applied once, inside the transaction that records it."""

    name: str
    apply: Callable[[sqlite3.Connection], None]


def error_code(error: BaseException) -> int | None:
    """SQLite's primary result code of ``error``; None for errors of Python's sqlite3."""
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_locked(error: BaseException) -> bool:
    return error_code(error) in LOCK_CODES


def is_damage(error: BaseException) -> bool:
    """Damage, as opposed to a database that cannot be used just now.

    sqlite3 decodes text, even SQLite's error messages, as UTF-8: on a damaged file that
    fails with ``UnicodeDecodeError``. Errors of the sqlite3 module itself carry no code;
    of those only text that does not decode means damage.
    """
    if isinstance(error, DamagedError | UnicodeDecodeError):
        return True
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    code = error_code(error)
    if code is None:
        return "decode" in str(error).lower()
    return code not in UNAVAILABLE_CODES


@contextlib.contextmanager
def decoding() -> Iterator[None]:
    """Turn the ``UnicodeDecodeError`` of a damaged file into ``DamagedError``."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise DamagedError(f"undecodable text ({error.reason})") from None


def open_database(
    path: Path,
    migrations: Sequence[Migration],
    *,
    busy_timeout_s: float,
    check_same_thread: bool = True,
    page_size: int | None = None,
) -> sqlite3.Connection:
    """Connect (creating the file readable by the user only, in a folder only the user may
    enter when it is new) and bring the schema up to date. ``page_size`` applies to a new
    database only (a page size cannot change under WAL).

    The connection is in autocommit mode (``isolation_level=None``): callers open their own
    transactions. Errors are SQLite's (see ``is_damage``) or ``OSError`` for the folder.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    conn = sqlite3.connect(
        path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=check_same_thread
    )
    try:
        with decoding():
            if page_size is not None:  # before the first read; a database with pages keeps its
                conn.execute(f"PRAGMA page_size={int(page_size)}")
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            if _pending(conn, migrations):
                if conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None:
                    # Only a database without tables takes this: its free pages can then
                    # be given back to the filesystem (``PRAGMA incremental_vacuum``).
                    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                _use_wal(conn, busy_timeout_s)
                _migrate(conn, migrations)
            conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def _applied(conn: sqlite3.Connection) -> set[str] | None:
    """The names applied, or None when the database predates the migrations table."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    ).fetchone()
    if found is None:
        return None
    return {str(row[0]) for row in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}


def _pending(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> bool:
    applied = _applied(conn)
    return applied is None or any(step.name not in applied for step in migrations)


def _use_wal(conn: sqlite3.Connection, busy_timeout_s: float) -> None:
    """Switch to WAL. Two processes opening a new database at once race here, and SQLite
    answers the loser's switch with "locked" at once, without its busy handler: wait for
    the winner instead of giving up. A filesystem that refuses WAL keeps its journal."""
    deadline = time.monotonic() + busy_timeout_s
    delay = 0.01
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if not is_locked(error):
                return
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    """Apply the missing migrations in order, in one write transaction, so that two
    processes never apply one twice. ``user_version`` is kept at the count applied, which
    is what ccw versions before named migrations read."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        applied = _applied(conn)
        if applied is None:
            legacy = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute(
                f"CREATE TABLE {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at REAL)"
            )
            applied = {step.name for step in migrations[:legacy]}
            conn.executemany(
                f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, NULL)",
                [(name,) for name in sorted(applied)],
            )
        for step in migrations:
            if step.name not in applied:
                step.apply(conn)
                conn.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                    (step.name, time.time()),
                )
        conn.execute(f"PRAGMA user_version={len(migrations)}")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Each statement of ``script`` on ``conn``, inside the caller's transaction
    (``executescript`` would commit it first)."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                conn.execute(statement)
            statement = ""


def move_aside(path: Path, target: Path) -> bool:
    """Move a damaged database and its ``-wal``/``-shm`` files to ``target`` (replacing a
    file of that name); False when another process moved it first."""
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return False
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.replace(f"{path}{suffix}", f"{target}{suffix}")
    return True
