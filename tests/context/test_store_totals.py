"""The blobs' total size kept by triggers (the limit is checked without reading the table),
and blobs collected by what was deleted, orphans by ``clear`` and by eviction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from ccw.context.api import ContextResult
from ccw.context.store import BLOB_BYTES, DB_NAME, MIGRATIONS, CacheStore
from ccw.sqlite import open_database

from .conftest import Tree, age
from .test_store import Clock

Pack = Callable[..., ContextResult]


def counted(cache_dir: Path) -> tuple[int, int, int]:
    """(the counter, the blobs' real total, the number of blobs)."""
    with sqlite3.connect(cache_dir / DB_NAME) as conn:
        (counter,) = conn.execute(
            "SELECT value FROM counters WHERE name = ?", (BLOB_BYTES,)
        ).fetchone()
        total, rows = conn.execute("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM blobs").fetchone()
    conn.close()
    return counter, total, rows


def add_orphan(cache_dir: Path, size: int) -> None:
    """A blob no entry holds, as a store stopped midway leaves it."""
    conn = sqlite3.connect(cache_dir / DB_NAME)
    with conn:
        conn.execute(
            "INSERT INTO blobs (hash, size, data) VALUES (?, ?, ?)",
            ("orphan-" + str(size), size, b"o" * size),
        )
    conn.close()


def test_the_counter_follows_every_change(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    cache_dir = tmp_path / "cache"
    root = tree({"a.txt": "a" * 1000, "b.txt": "b" * 700, "c.txt": "c" * 300})
    age(root)
    clock = Clock()
    limit = {"max_cache_bytes": 2500, "clock": clock}
    first = pack("@a.txt @b.txt", root, **limit)
    assert counted(cache_dir) == (1700, 1700, 2)
    (root / "b.txt").write_text("B" * 500)  # the entry is replaced: the old b.txt goes
    age(root)
    clock.now += 1
    assert pack("@a.txt @b.txt", root, **limit).session_id != first.session_id
    assert counted(cache_dir) == (1500, 1500, 2)
    clock.now += 1
    pack("@c.txt", root, **limit)
    assert counted(cache_dir) == (1800, 1800, 3)
    clock.now += 1
    pack("@b.txt @c.txt @a.txt", root, max_cache_bytes=2500, clock=clock)  # same blobs
    assert counted(cache_dir) == (1800, 1800, 3)
    (root / "d.txt").write_text("d" * 1200)
    age(root)
    clock.now += 1
    pack("@d.txt", root, **limit)  # the oldest entries are evicted to make room
    counter, total, _ = counted(cache_dir)
    assert counter == total <= 2500
    cache = CacheStore(cache_dir, max_bytes=2500, clock=clock)
    assert cache.stats()["totalBytes"] == total
    cache.clear()
    assert counted(cache_dir) == (0, 0, 0)


def test_orphans_go_on_clear_and_when_eviction_has_nothing_else(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    cache_dir = tmp_path / "cache"
    root = tree({"a.txt": "a" * 1000, "b.txt": "b" * 1000})
    age(root)
    kept = pack("@a.txt", root, max_cache_bytes=2500)
    add_orphan(cache_dir, 1200)
    assert counted(cache_dir) == (2200, 2200, 2)
    stored = pack("@b.txt", root, max_cache_bytes=2500)  # over the limit: the orphan goes
    assert stored.session_id is not None
    cache = CacheStore(cache_dir, max_bytes=2500)
    assert {entry["id"] for entry in cache.entries()} == {kept.session_id, stored.session_id}
    assert counted(cache_dir) == (2000, 2000, 2)
    add_orphan(cache_dir, 10)
    assert cache.clear(expired_only=True) == 0
    assert counted(cache_dir) == (2000, 2000, 2)


def test_an_older_database_gets_the_counter(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    """A cache written before the counter: counted once on open, orphans dropped."""
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    conn = open_database(cache_dir / DB_NAME, MIGRATIONS[:-1], busy_timeout_s=1)
    conn.execute("INSERT INTO blobs (hash, size, data) VALUES ('old', 5, x'0000000000')")
    conn.close()
    root = tree({"a.txt": "a" * 100})
    age(root)
    assert pack("@a.txt", root).session_id is not None
    assert counted(cache_dir) == (100, 100, 1)


def test_clear_gives_the_freed_pages_back_to_the_disk(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    cache_dir = tmp_path / "cache"
    root = tree({f"f{i}.txt": f"{i}" * 40_000 for i in range(50)})  # 2 MB: the pack keeps 512 KB
    age(root)
    pack("@*.txt", root)
    db = cache_dir / DB_NAME

    def on_disk() -> int:
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            (pages,) = conn.execute("PRAGMA page_count").fetchone()
            (size,) = conn.execute("PRAGMA page_size").fetchone()
        conn.close()
        return int(pages) * int(size)

    full = on_disk()
    assert full > 400_000
    CacheStore(cache_dir).clear()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    conn.close()
    assert on_disk() < full // 4
