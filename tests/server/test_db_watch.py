"""The cache database's change token: a write that leaves the file's size and time as they
were (one kernel tick, pages reused) still changes it; a database replaced changes it."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ccw.server.db_watch import DatabaseWatch


def _write(db: Path, value: str) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE t SET v = ?", (value,))
    conn.close()


def test_a_write_that_keeps_size_and_time_changes_the_token(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.execute("INSERT INTO t VALUES ('aaaa')")
    conn.close()
    watch = DatabaseWatch()
    before = watch.token(db)
    assert watch.token(db) == before  # nothing changed
    st = os.stat(db)
    _write(db, "bbbb")  # same size
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same time, as in one tick
    assert (os.stat(db).st_size, os.stat(db).st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert watch.token(db) != before
    watch.close()


def test_a_replaced_or_missing_database_changes_the_token(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    sqlite3.connect(db).close()
    watch = DatabaseWatch()
    first = watch.token(db)
    moved = tmp_path / "c.db.corrupt"
    db.rename(moved)
    assert watch.token(db) == (-1,)
    sqlite3.connect(db).close()
    assert watch.token(db) not in (first, (-1,))
    watch.close()
