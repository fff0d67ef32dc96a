"""A token that changes whenever a SQLite database changes, read without touching its tables.

The dashboard polls the cache's stats; rebuilding them means reading the database. File
stamps alone miss a change: Linux keeps file times at the kernel tick, so two writes in one
tick that leave the sizes as they were (a write-ahead log restarted after a checkpoint, freed
pages reused) look alike. ``PRAGMA data_version`` on a connection that stays open changes
whenever another connection commits, and costs microseconds; the file's inode catches a
database replaced or moved aside.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

Token = tuple[int, ...]


class DatabaseWatch:
    """One read-only connection to the database last asked about."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[Path, int] | None = None

    def token(self, db: Path) -> Token:
        """Equal tokens: the database did not change in between (``-1``: it cannot be read)."""
        try:
            st = os.stat(db)
        except OSError:
            return (-1,)
        wal = _stamp(db.with_name(db.name + "-wal"))
        return (st.st_ino, st.st_mtime_ns, st.st_size, *wal, self._version(db, st.st_ino))

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _version(self, db: Path, inode: int) -> int:
        with self._lock:
            if self._identity != (db, inode):
                self._drop()
                try:
                    self._conn = sqlite3.connect(
                        f"{db.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
                    )
                except sqlite3.Error:
                    return -1
                self._identity = (db, inode)
            assert self._conn is not None
            try:
                return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                self._drop()
                return -1

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn, self._identity = None, None


def _stamp(path: Path) -> tuple[int, int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (0, -1, 0)
    return (st.st_ino, st.st_mtime_ns, st.st_size)
