"""The persistent cache: stat-only hits, partial re-reads, TTL, eviction, broken databases."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from ccw.context import store as store_module
from ccw.context.api import ContextResult
from ccw.context.store import CacheStore

from .conftest import Tree, age, git_init

Pack = Callable[..., ContextResult]
FILES: Tree = {
    "src/a.py": "a = 1\n",
    "src/b.py": "b = 2\n",
    "src/c.py": "c = 3\n",
    "README.md": "hi\n",
}


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("use_git", [False, True])
def test_unchanged_files_reuse_the_stored_pack_after_stat_only(
    tree: Callable[[Tree], Path], pack: Pack, use_git: bool
) -> None:
    root = tree(FILES)
    if use_git:
        git_init(root)
    age(root)
    first = pack("@src/**/*.py @README.md", root)
    assert (first.cache_used, first.files_read) == (False, 4)
    assert first.session_id is not None and first.session_id.startswith("ctx-")
    second = pack("@src/**/*.py @README.md", root)
    assert (second.cache_used, second.files_read) == (True, 0)
    assert second.session_id == first.session_id
    assert second.pack == first.pack
    assert [f.path for f in second.files] == ["src/a.py", "src/b.py", "src/c.py", "README.md"]


def test_a_changed_file_is_re_read_alone(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree(FILES)
    age(root)
    first = pack("@src/*.py", root)
    (root / "src" / "b.py").write_text("b = 22222\n")
    changed = pack("@src/*.py", root)
    assert (changed.cache_used, changed.files_read) == (False, 1)
    assert "b = 22222" in changed.pack and "a = 1" in changed.pack
    assert changed.session_id != first.session_id
    # Just written, b.py cannot be trusted by stat yet: it alone is read again and matches.
    again = pack("@src/*.py", root)
    assert (again.cache_used, again.files_read) == (True, 1)
    assert again.pack == changed.pack


def test_a_new_file_matching_the_pattern_is_picked_up(
    tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree(FILES)
    age(root)
    pack("@src/*.py", root)
    (root / "src" / "d.py").write_text("d = 4\n")
    result = pack("@src/*.py", root)
    assert [f.path for f in result.files] == ["src/a.py", "src/b.py", "src/c.py", "src/d.py"]
    assert (result.cache_used, result.files_read) == (False, 1)


def test_ttl_expires_with_the_clock(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree(FILES)
    age(root)
    clock = Clock()
    first = pack("@src/*.py", root, ttl_minutes=1, clock=clock)
    clock.now += 59
    assert pack("@src/*.py", root, ttl_minutes=1, clock=clock).cache_used
    clock.now += 2
    cache = CacheStore(tmp_path / "cache", clock=clock)
    assert cache.stats()["expired"] == 1
    assert cache.entries()[0]["expired"] is True
    expired = pack("@src/*.py", root, ttl_minutes=1, clock=clock)
    assert (expired.cache_used, expired.files_read) == (False, 3)
    assert expired.pack == first.pack
    clock.now += 61
    assert cache.clear(expired_only=True) == 1
    assert cache.stats()["entries"] == 0


def test_least_recently_used_entries_are_evicted(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree({"a.txt": "a" * 1000, "b.txt": "b" * 1000, "c.txt": "c" * 1000})
    age(root)
    clock = Clock()
    limit = {"max_cache_bytes": 2500, "clock": clock}
    ids = {}
    for name in ("a", "b"):
        clock.now += 1
        ids[name] = pack(f"@{name}.txt", root, **limit).session_id
    clock.now += 1
    assert pack("@a.txt", root, **limit).cache_used
    clock.now += 1
    ids["c"] = pack("@c.txt", root, **limit).session_id
    cache = CacheStore(tmp_path / "cache", max_bytes=2500, clock=clock)
    assert [entry["id"] for entry in cache.entries()] == [ids["c"], ids["a"]]
    assert cache.stats()["totalBytes"] <= 2500
    too_big = pack("@*.txt", root, **limit)
    assert too_big.session_id is None
    assert any("larger than the cache limit" in warning for warning in too_big.warnings)
    assert len(too_big.files) == 3


def test_a_pack_whose_files_were_touched_is_stored_once(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    """Files touched but not changed make the same pack: the entry is replaced by one
    holding the same text, stored once, in chunks that add up to it and to the counter."""
    root = tree(FILES)
    age(root)
    first = pack("@src/*.py", root)
    for name in ("a.py", "b.py", "c.py"):
        (root / "src" / name).touch()
    age(root)
    again = pack("@src/*.py", root)
    assert again.pack == first.pack and again.session_id == first.session_id
    assert again.cache_used and again.files_read == 3  # new stats: read, found the same
    with sqlite3.connect(tmp_path / "cache" / "context.db") as conn:
        entries = conn.execute("SELECT pack, bytes FROM entries").fetchall()
        chunks = conn.execute("SELECT pack, size FROM chunks").fetchall()
        (counter,) = conn.execute("SELECT value FROM counters WHERE name = 'pack_bytes'").fetchone()
    conn.close()
    assert len(entries) == 1
    [(pack_id, size)] = entries
    assert size == len(first.pack.encode())
    assert {owner for owner, _ in chunks} == {pack_id}
    assert sum(part for _, part in chunks) == size == counter


def test_no_cache_stores_nothing(tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree(FILES)
    result = pack("@src/*.py", root, use_cache=False)
    assert result.session_id is None and not result.cache_used
    assert not (tmp_path / "cache").exists()


def test_a_corrupt_database_is_rebuilt(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree(FILES)
    age(root)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "context.db").write_bytes(b"this is not a database" * 100)
    first = pack("@src/*.py", root)
    assert len(first.files) == 3
    assert any("rebuilt" in warning for warning in first.warnings)
    assert (tmp_path / "cache" / "context.db.corrupt").exists()
    second = pack("@src/*.py", root)
    assert second.cache_used and second.warnings == []


def test_a_locked_database_is_bypassed(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 50)
    root = tree(FILES)
    age(root)
    pack("@README.md", root)
    holder = sqlite3.connect(tmp_path / "cache" / "context.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = pack("@src/*.py", root)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert [f.path for f in result.files] == ["src/a.py", "src/b.py", "src/c.py"]
    assert result.session_id is None
    assert any("locked" in warning for warning in result.warnings)
    assert pack("@src/*.py", root).session_id is not None


def test_entry_details_and_delete(tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree(FILES)
    result = pack("@src/*.py @!src/c.py", root)
    cache = CacheStore(tmp_path / "cache")
    assert result.session_id is not None
    entry = cache.entry(result.session_id)
    assert entry is not None
    assert entry["patterns"] == ["src/*.py", "!src/c.py"]
    assert [item["path"] for item in entry["fileList"]] == ["src/a.py", "src/b.py"]
    assert cache.entry("ctx-missing") is None
    assert cache.delete(result.session_id) is True
    assert cache.delete(result.session_id) is False
    assert cache.stats()["totalBytes"] == 0


def test_exact_tokens_are_counted_once_per_content(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree({"a.txt": "hello world, hello tokens\n", "b.txt": "hello world, hello tokens\n"})
    first = pack("@a.txt", root, tokens="exact", model="gpt-4o")
    assert 3 <= first.files[0].tokens < 10
    second = pack("@*.txt", root, tokens="exact", model="gpt-4o", fmt="plain")
    assert [f.tokens for f in second.files] == [first.files[0].tokens] * 2
    with sqlite3.connect(tmp_path / "cache" / "context.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM token_counts").fetchone()[0] == 1
    assert pack("@a.txt", root).files[0].tokens == 7
