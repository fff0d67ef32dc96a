"""The SQLite helper: named migrations once and in order, damage moved aside, a full disk
or a lock never taken for damage."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ccw.sqlite import (
    MIGRATIONS_TABLE,
    DamagedError,
    Migration,
    is_damage,
    move_aside,
    open_database,
)


def steps(log: list[str]) -> list[Migration]:
    def create(conn: sqlite3.Connection) -> None:
        log.append("create")
        conn.execute("CREATE TABLE t (a TEXT)")

    def add(conn: sqlite3.Connection) -> None:
        log.append("add")
        conn.execute("ALTER TABLE t ADD COLUMN b TEXT")

    return [Migration("create t", create), Migration("t has b", add)]


def test_migrations_apply_once_and_in_order(tmp_path: Path) -> None:
    log: list[str] = []
    path = tmp_path / "new" / "db.sqlite"
    for _ in range(3):
        open_database(path, steps(log), busy_timeout_s=1).close()
    assert log == ["create", "add"]
    with sqlite3.connect(path) as conn:
        names = [row[0] for row in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")]
        assert names == ["create t", "t has b"]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_user_version_database_counts_its_first_migrations_applied(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (a TEXT)")
        conn.execute("PRAGMA user_version = 1")
    log: list[str] = []
    conn = open_database(path, steps(log), busy_timeout_s=1)
    conn.execute("INSERT INTO t (a, b) VALUES ('x', 'y')")
    conn.close()
    assert log == ["add"]


def test_a_failed_migration_leaves_nothing_half_done(tmp_path: Path) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE u (a TEXT)")
        raise RuntimeError("boom")

    path = tmp_path / "db.sqlite"
    with pytest.raises(RuntimeError):
        open_database(path, [*steps([]), Migration("broken", broken)], busy_timeout_s=1)
    log: list[str] = []
    open_database(path, steps(log), busy_timeout_s=1).close()
    assert log == ["create", "add"]  # the whole first attempt was rolled back


def test_a_damaged_file_is_damage_and_moved_aside_with_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"not a database " * 500)
    with pytest.raises(sqlite3.DatabaseError) as caught:
        open_database(path, steps([]), busy_timeout_s=1)
    assert is_damage(caught.value)
    Path(f"{path}-wal").write_bytes(b"wal")
    target = tmp_path / "db.sqlite.corrupt"
    assert move_aside(path, target)
    assert target.read_bytes().startswith(b"not a database")
    assert Path(f"{target}-wal").read_bytes() == b"wal"
    assert not path.exists()
    assert not move_aside(path, target)  # already moved by someone else
    open_database(path, steps([]), busy_timeout_s=1).close()


def test_a_full_disk_and_a_lock_are_not_damage(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    conn = open_database(path, steps([]), busy_timeout_s=0.1)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError) as full:
        conn.execute("INSERT INTO t (a) VALUES (?)", ("x" * 100_000,))
    assert "full" in str(full.value)
    assert not is_damage(full.value)
    conn.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    other = open_database(path, steps([]), busy_timeout_s=0.1)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("BEGIN IMMEDIATE")
    assert not is_damage(locked.value)
    holder.execute("ROLLBACK")
    holder.close()
    other.close()
    assert is_damage(DamagedError("a row that does not read back"))
    assert is_damage(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))
