"""The stored layout: a pack's text in checked chunks, its files as three columns.

A cache of the older layout (a blob per file content, a row per file) is converted on
open: its tables go, its pages go back to the disk, and packing works on the new tables.
A hit writes exactly the bytes of the uncached pack in every format, for files the format
escapes and files that span chunks, and so does a partial change that takes unchanged
files' bytes from the old text.
"""

from __future__ import annotations

import io
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ccw.context.api import ContextResult, stream_context
from ccw.context.manifest import Manifest, StoredFile
from ccw.context.request import ContextRequest
from ccw.context.store import (
    CHUNK_BYTES,
    DB_NAME,
    MIGRATIONS,
    PACK_BYTES,
    PAGE_BYTES,
    CacheStore,
)
from ccw.sqlite import MIGRATIONS_TABLE

from .conftest import Tree, age
from .test_store_damage import checkpoint, rows
from .test_store_totals import counted

Pack = Callable[..., ContextResult]

# The layout the first six migrations left: blobs by integer id with their total counted
# by triggers, entries with their policy counts and limits, a row per file.
OLD_LAYOUT = """
CREATE TABLE blobs (
    id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
    data BLOB NOT NULL);
CREATE TABLE entries (
    id TEXT PRIMARY KEY, key TEXT NOT NULL UNIQUE, root TEXT NOT NULL, patterns TEXT NOT NULL,
    pack_hash TEXT NOT NULL, files INTEGER NOT NULL, bytes INTEGER NOT NULL,
    tokens INTEGER NOT NULL, created REAL NOT NULL, accessed REAL NOT NULL,
    expires REAL NOT NULL, packed_ns INTEGER NOT NULL, skipped TEXT NOT NULL,
    warnings TEXT NOT NULL, watch TEXT NOT NULL, excluded TEXT NOT NULL DEFAULT '{}',
    limits TEXT NOT NULL DEFAULT '{}');
CREATE TABLE entry_files (
    entry_id TEXT NOT NULL, pos INTEGER NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, hash TEXT, tokens INTEGER NOT NULL,
    reason TEXT, blob INTEGER, PRIMARY KEY (entry_id, pos));
CREATE INDEX entry_files_blob ON entry_files(blob);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE token_counts (
    hash TEXT NOT NULL, model TEXT NOT NULL, tokens INTEGER NOT NULL,
    PRIMARY KEY (hash, model));
INSERT INTO counters (name, value) VALUES ('blob_bytes', 0), ('hits', 7), ('misses', 3);
CREATE TRIGGER blobs_added AFTER INSERT ON blobs BEGIN
    UPDATE counters SET value = value + NEW.size WHERE name = 'blob_bytes'; END;
CREATE TRIGGER blobs_removed AFTER DELETE ON blobs BEGIN
    UPDATE counters SET value = value - OLD.size WHERE name = 'blob_bytes'; END;
"""
OLD_BLOB_BYTES = 400_000
OLD_STEPS = 6


def _old_cache(db: Path, named: bool) -> None:
    """A cache of the older layout, three files of one entry in it, its migrations marked
    applied as ``open_database`` records them (``named``: in the migrations table; else by
    ``user_version`` alone, as before that table)."""
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # as a new database got it
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(OLD_LAYOUT)
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO entries (id, key, root, patterns, pack_hash, files, bytes, tokens, "
            "created, accessed, expires, packed_ns, skipped, warnings, watch) VALUES "
            "('ctx-old', 'k', '/nowhere', '[\"*.txt\"]', 'h', 3, ?, 10, 1.0, 1.0, 9e9, 1, "
            "'[]', '[]', '{}')",
            (3 * OLD_BLOB_BYTES,),
        )
        for pos in range(3):
            digest = f"{pos:064x}"
            conn.execute(
                "INSERT INTO blobs (hash, size, data) VALUES (?, ?, ?)",
                (digest, OLD_BLOB_BYTES, os.urandom(OLD_BLOB_BYTES)),
            )
            conn.execute(
                "INSERT INTO entry_files (entry_id, pos, path, size, mtime_ns, ino, hash, "
                "tokens, reason, blob) VALUES ('ctx-old', ?, ?, ?, 1, 1, ?, 3, NULL, ?)",
                (pos, f"f{pos}.txt", OLD_BLOB_BYTES, digest, pos + 1),
            )
        conn.execute("INSERT INTO token_counts VALUES (?, 'gpt-4o', 42)", ("ab" * 32,))
        if named:
            conn.execute(
                f"CREATE TABLE {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at REAL)"
            )
            conn.executemany(
                f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                [(step.name, time.time()) for step in MIGRATIONS[:OLD_STEPS]],
            )
        conn.execute(f"PRAGMA user_version={OLD_STEPS}")
        conn.execute("COMMIT")
        assert conn.execute("SELECT value FROM counters WHERE name = 'blob_bytes'").fetchone()[
            0
        ] == (3 * OLD_BLOB_BYTES)
    finally:
        conn.close()


def _on_disk(db: Path) -> int:
    return len(checkpoint(db))


@pytest.mark.parametrize("named", [True, False], ids=["migrations-table", "user-version"])
def test_an_older_layout_is_dropped_and_its_pages_given_back(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack, named: bool
) -> None:
    cache_dir = tmp_path / "cache"
    db = cache_dir / DB_NAME
    _old_cache(db, named)
    before = _on_disk(db)
    assert before > 3 * OLD_BLOB_BYTES

    stats = CacheStore(cache_dir).stats()
    assert (stats["entries"], stats["totalBytes"]) == (0, 0)
    assert (stats["hits"], stats["misses"]) == (7, 3)  # the counts of calls are kept
    objects = {str(name) for (name,) in rows(db, "SELECT name FROM sqlite_master")}
    assert not objects & {"blobs", "entry_files", "entry_files_blob"}
    assert not objects & {"blobs_added", "blobs_removed"}
    assert {"entries", "chunks", "chunks_added", "chunks_removed"} <= objects
    columns = {str(row[1]) for row in rows(db, "PRAGMA table_info(entries)")}
    assert {"pack", "paths", "numbers", "reasons", "watch_paths", "watch_numbers"} <= columns
    assert "watch" not in columns
    counters = dict(rows(db, "SELECT name, value FROM counters"))
    assert counters[PACK_BYTES] == 0 and "blob_bytes" not in counters
    # Token counts are named by the content's hash: still true, kept.
    assert rows(db, "SELECT tokens FROM token_counts") == [(42,)]
    applied = {str(name) for (name,) in rows(db, f"SELECT name FROM {MIGRATIONS_TABLE}")}
    assert applied == {step.name for step in MIGRATIONS}
    assert rows(db, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    assert rows(db, "PRAGMA freelist_count") == [(0,)]
    # Emptied, it took the large pages (no other process had it open): the size of a new,
    # empty cache, its blobs' pages given back.
    assert rows(db, "PRAGMA page_size") == [(PAGE_BYTES,)]
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]
    fresh = tmp_path / "fresh"
    CacheStore(fresh).stats()
    assert _on_disk(db) == _on_disk(fresh / DB_NAME) < before

    root = tree({"a.txt": "alpha\n" * 100, "b.txt": "beta\n" * 100})
    age(root)
    truth = pack("@*.txt", root, use_cache=False).pack
    first = pack("@*.txt", root)
    assert first.session_id is not None and first.pack == truth
    hit = pack("@*.txt", root)
    assert hit.cache_used and hit.files_read == 0 and hit.pack == truth
    counter, total, chunks = counted(cache_dir)
    assert counter == total == len(truth.encode()) and chunks == 1


def test_an_older_cache_open_elsewhere_keeps_its_pages_and_works(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    """A page size changes only with the database to itself: with another process's
    connection open, the emptied cache keeps its small pages, at once (no wait), and works."""
    cache_dir = tmp_path / "cache"
    db = cache_dir / DB_NAME
    _old_cache(db, named=True)
    other = sqlite3.connect(db)
    try:
        other.execute("SELECT COUNT(*) FROM counters").fetchone()  # holds the WAL open
        started = time.monotonic()
        assert CacheStore(cache_dir).stats()["entries"] == 0
        assert time.monotonic() - started < 2  # no wait on the other connection
        root = tree({"a.txt": "alpha\n"})
        age(root)
        assert pack("@a.txt", root).session_id is not None
        assert pack("@a.txt", root).cache_used
        assert other.execute("PRAGMA page_size").fetchone() == (4096,)
    finally:
        other.close()
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]


# Files a format escapes (``]]>`` in xml) or that span chunks, among plain ones.
BIG_LINES = 90_000  # 1.3 MiB
FILES: Tree = {
    "src/app.py": "def main():\n    return 1\n",
    "cdata.txt": "before ]]> after\nand ]]]]> again\n",
    "big.txt": "".join(f"line {n:09d}\n" for n in range(BIG_LINES)),
    "tail.md": "# the end\n",
}
PROMPT = "@src/app.py @cdata.txt @big.txt @tail.md"
ROOMY = {"max_file_bytes": 4 << 20, "max_total_bytes": 8 << 20}
FORMATS = ["xml", "markdown", "plain"]


def _stream(
    root: Path, cache_dir: Path, fmt: str, use_cache: bool = True
) -> tuple[bytes, ContextResult]:
    out = io.BytesIO()
    request = ContextRequest(
        prompt=PROMPT, root=root, cache_dir=cache_dir, use_cache=use_cache, fmt=fmt, **ROOMY
    )
    result = stream_context(request, out)
    return out.getvalue(), result


def _stored(db: Path) -> tuple[int, list[StoredFile]]:
    """The one entry's chunk count and files."""
    [(pack_id, paths, numbers, reasons)] = rows(
        db, "SELECT pack, paths, numbers, reasons FROM entries"
    )
    [(count,)] = rows(db, f"SELECT COUNT(*) FROM chunks WHERE pack = {int(pack_id)}")
    return int(count), list(Manifest.decode(paths, numbers, reasons).files())


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_hit_writes_the_bytes_of_the_uncached_pack(
    tmp_path: Path, tree: Callable[[Tree], Path], fmt: str
) -> None:
    root = tree(FILES)
    age(root)
    cache_dir = tmp_path / "cache"
    truth, _ = _stream(root, cache_dir, fmt, use_cache=False)
    assert len(truth) > CHUNK_BYTES
    miss, stored = _stream(root, cache_dir, fmt)
    assert miss == truth and stored.session_id is not None and not stored.cache_used
    hit, result = _stream(root, cache_dir, fmt)
    assert hit == truth
    assert result.cache_used and result.files_read == 0 and result.pack_bytes == len(truth)
    assert [f.path for f in result.files] == [f.path for f in stored.files]
    chunks, files = _stored(cache_dir / DB_NAME)
    assert chunks == -(-len(truth) // CHUNK_BYTES) == 2
    for item in files:
        data = (root / item.path).read_bytes()
        if fmt == "xml" and item.path == "cdata.txt":
            assert item.offset == -1  # the pack holds it escaped
            assert b"]]]]><![CDATA[>" in truth
        else:
            assert item.offset >= 0 and item.length == len(data)
            assert truth[item.offset : item.offset + item.length] == data
    big = next(item for item in files if item.path == "big.txt")
    assert big.offset < CHUNK_BYTES < big.offset + big.length  # it spans the seam


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_partial_change_gives_the_bytes_of_the_uncached_pack(
    tmp_path: Path, tree: Callable[[Tree], Path], fmt: str
) -> None:
    """src/app.py grows, so every later file moves: their bytes come from the old text at
    their old offsets (big.txt across the chunks' seam), except those the format escaped."""
    root = tree(FILES)
    age(root)
    cache_dir = tmp_path / "cache"
    _stream(root, cache_dir, fmt)
    (root / "src" / "app.py").write_text("def main():\n    return 2 + 2 + 2\n\n\nmain()\n")
    truth, _ = _stream(root, cache_dir, fmt, use_cache=False)
    changed, result = _stream(root, cache_dir, fmt)
    assert changed == truth
    assert not result.cache_used and result.session_id is not None
    # Read from disk: the changed file, and the escaped one (the text does not hold it).
    assert result.files_read == (2 if fmt == "xml" else 1)
    again, hit = _stream(root, cache_dir, fmt)
    assert again == truth and hit.session_id == result.session_id
    counter, total, chunks = counted(cache_dir)
    assert counter == total == len(truth) and chunks == 2
