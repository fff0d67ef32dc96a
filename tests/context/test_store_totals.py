"""The stored packs' total size, kept by triggers on ``chunks`` (the limit is checked
without reading the table); chunks go with the entry that holds them, orphans (chunks of a
pack whose entry was never stored) on ``clear`` and before eviction drops a real entry."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ccw.context.api import ContextResult
from ccw.context.store import (
    CHUNK_BYTES,
    DB_NAME,
    FLUSH_BYTES,
    PACK_BYTES,
    CacheStore,
    StoredEntry,
)

from .conftest import Tree, age
from .test_store import Clock

Pack = Callable[..., ContextResult]
ORPHAN_PACK = 424242  # no entry ever holds it


def counted(cache_dir: Path) -> tuple[int, int, int]:
    """(the counter, the chunks' real total, the number of chunks)."""
    conn = sqlite3.connect(cache_dir / DB_NAME)
    try:
        (counter,) = conn.execute(
            "SELECT value FROM counters WHERE name = ?", (PACK_BYTES,)
        ).fetchone()
        total, rows = conn.execute("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM chunks").fetchone()
    finally:
        conn.close()
    return counter, total, rows


def add_orphan(cache_dir: Path, size: int, seq: int = 0) -> None:
    """A chunk no entry holds, as a store stopped midway leaves it."""
    conn = sqlite3.connect(cache_dir / DB_NAME)
    with conn:
        conn.execute(
            "INSERT INTO chunks (pack, seq, hash, size, data) VALUES (?, ?, ?, ?, ?)",
            (ORPHAN_PACK, seq, "0" * 64, size, b"o" * size),
        )
    conn.close()


def test_the_counter_follows_every_change(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    cache_dir = tmp_path / "cache"
    root = tree({"a.txt": "a" * 1000, "b.txt": "b" * 700, "c.txt": "c" * 300})
    age(root)
    clock = Clock()
    limit = {"max_cache_bytes": 3000, "clock": clock}
    first = pack("@a.txt @b.txt", root, **limit)
    ab = first.pack_bytes
    assert ab == len(first.pack.encode()) > 1700
    assert counted(cache_dir) == (ab, ab, 1)
    (root / "b.txt").write_text("B" * 500)  # the entry is replaced: the old text goes
    age(root)
    clock.now += 1
    replaced = pack("@a.txt @b.txt", root, **limit)
    assert replaced.session_id != first.session_id
    ab = replaced.pack_bytes
    assert counted(cache_dir) == (ab, ab, 1)
    clock.now += 1
    c = pack("@c.txt", root, **limit)
    assert counted(cache_dir) == (ab + c.pack_bytes, ab + c.pack_bytes, 2)
    clock.now += 1
    assert pack("@c.txt", root, **limit).cache_used  # a hit stores nothing
    assert counted(cache_dir)[0] == ab + c.pack_bytes
    (root / "d.txt").write_text("d" * 1200)
    age(root)
    clock.now += 1
    d = pack("@d.txt", root, **limit)  # the oldest entry (a and b) is evicted to make room
    assert counted(cache_dir) == (c.pack_bytes + d.pack_bytes, c.pack_bytes + d.pack_bytes, 2)
    cache = CacheStore(cache_dir, max_bytes=3000, clock=clock)
    assert {entry["id"] for entry in cache.entries()} == {c.session_id, d.session_id}
    assert cache.stats()["totalBytes"] == c.pack_bytes + d.pack_bytes
    assert c.session_id is not None and cache.delete(c.session_id)
    assert counted(cache_dir) == (d.pack_bytes, d.pack_bytes, 1)
    cache.clear()
    assert counted(cache_dir) == (0, 0, 0)
    assert cache.stats()["totalBytes"] == 0


def test_a_lost_or_spoiled_counter_is_counted_afresh(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    cache_dir = tmp_path / "cache"
    root = tree({"a.txt": "a" * 1000})
    age(root)
    stored = pack("@a.txt", root)
    for spoil in (
        "DELETE FROM counters WHERE name = ?",
        "UPDATE counters SET value = -5 WHERE name = ?",
    ):
        conn = sqlite3.connect(cache_dir / DB_NAME)
        with conn:
            conn.execute(spoil, (PACK_BYTES,))
        conn.close()
        (root / "b.txt").write_text("b" * 10)
        pack("@b.txt", root, max_cache_bytes=10_000)  # the limit check counts afresh
        counter, total, _ = counted(cache_dir)
        assert counter == total >= stored.pack_bytes
        (root / "b.txt").unlink()


def test_orphans_go_on_clear_and_before_eviction_drops_an_entry(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    cache_dir = tmp_path / "cache"
    root = tree({"a.txt": "a" * 1000, "b.txt": "b" * 1000})
    age(root)
    kept = pack("@a.txt", root, max_cache_bytes=2500)
    size = kept.pack_bytes
    add_orphan(cache_dir, 700)
    add_orphan(cache_dir, 500, seq=1)
    assert counted(cache_dir) == (size + 1200, size + 1200, 3)
    stored = pack("@b.txt", root, max_cache_bytes=2500)  # over the limit: the orphans go
    assert stored.session_id is not None
    cache = CacheStore(cache_dir, max_bytes=2500)
    assert {entry["id"] for entry in cache.entries()} == {kept.session_id, stored.session_id}
    both = size + stored.pack_bytes
    assert counted(cache_dir) == (both, both, 2)
    add_orphan(cache_dir, 10)
    assert cache.clear(expired_only=True) == 0  # no entry expired, the orphan goes
    assert counted(cache_dir) == (both, both, 2)
    assert len(cache.entries()) == 2
    add_orphan(cache_dir, 10)
    assert cache.clear() == 2
    assert counted(cache_dir) == (0, 0, 0)


def _on_disk(db: Path) -> int:
    """The database's size once its WAL is folded in."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    finally:
        conn.close()
    assert db.stat().st_size == int(pages) * int(size)
    return int(pages) * int(size)


def test_clear_gives_the_freed_pages_back_to_the_disk(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    cache_dir = tmp_path / "cache"
    root = tree({f"f{i}.txt": f"{i}" * 40_000 for i in range(50)})  # 2 MB
    age(root)
    stored = pack("@*.txt", root, max_total_bytes=4 << 20)
    assert stored.pack_bytes > 2_000_000
    CacheStore(tmp_path / "empty").stats()
    empty = _on_disk(tmp_path / "empty" / DB_NAME)
    db = cache_dir / DB_NAME
    assert _on_disk(db) >= empty + stored.pack_bytes
    CacheStore(cache_dir).clear()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    finally:
        conn.close()
    assert _on_disk(db) == empty


def test_chunks_of_a_pack_being_written_are_not_taken_for_orphans(tmp_path: Path) -> None:
    """A large pack's first chunks are committed before its entry is: a ``clear`` from
    another process meanwhile must not leave the entry stored without them."""
    cache_dir = tmp_path / "cache"
    store = CacheStore(cache_dir)
    text = b"".join(b"%015d\n" % n for n in range(10 * CHUNK_BYTES // 16))  # 10 MiB
    with store.writer() as writer:
        writer.write(text)  # more than FLUSH_BYTES: chunks are committed as it goes
        assert counted(cache_dir)[2] >= FLUSH_BYTES // CHUNK_BYTES
        CacheStore(cache_dir).clear()  # another process
        entry = StoredEntry(
            id="ctx-big", key="big", root=str(tmp_path), patterns=["big"], pack_hash="",
            bytes=len(text), tokens=1, created=0.0, expires=9e9, packed_ns=0,
        )  # fmt: skip
        stored = writer.finish(entry, {}, "model")
    if stored:  # stored, it must be whole: a hit writes its text
        out = io.BytesIO()
        store.replay(entry, out)
        assert out.getvalue() == text
    assert store.warnings == []
