"""A damaged, full or misplaced cache database never alters a pack.

A chunk of a stored pack that is damaged or missing drops its entry: the pack is made
afresh from the files, or, when part of it was written already, the call fails asking to
be run again. Rows that do not decode move the database aside. A database that cannot be
used (locked, full, over a size limit, a folder that is a file) is bypassed, never
rebuilt."""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ccw.context.api import ContextResult
from ccw.context.store import CHUNK_BYTES, DB_NAME, CacheStore
from ccw.errors import CcwError

from ..conftest import RunCcw
from .conftest import Tree, age
from .test_store_totals import counted

Pack = Callable[..., ContextResult]
SEED = 20261105
FLIPS = 150
PROMPT = "@src/*.py @notes.md"
FILES: Tree = {
    "src/a.py": "".join(f"alpha_{n} = {n}\n" for n in range(300)),
    "src/b.py": "".join(f"beta_{n} = '{n}'\n" for n in range(300)),
    "notes.md": "# Notes\n" + "".join(f"- point {n}\n" for n in range(200)),
}


def checkpoint(db: Path) -> bytes:
    """Fold the WAL into the main file and return its bytes."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return db.read_bytes()


def restore(cache: Path, image: bytes) -> None:
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    (cache / DB_NAME).write_bytes(image)


def flip(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    offset = rng.randrange(len(data))
    data[offset] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


@pytest.fixture
def warm(tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack) -> tuple[Path, str, bytes]:
    """A project with a stored pack: its root, the true pack text and the database image."""
    root = tree(FILES)
    age(root)
    truth = pack(PROMPT, root, use_cache=False).pack
    assert pack(PROMPT, root).session_id is not None
    hit = pack(PROMPT, root)
    assert hit.cache_used and hit.pack == truth
    return root, truth, checkpoint(tmp_path / "cache" / DB_NAME)


def test_byte_flips_never_serve_an_altered_pack(
    tmp_path: Path, pack: Pack, warm: tuple[Path, str, bytes]
) -> None:
    root, truth, image = warm
    cache = tmp_path / "cache"
    rng = random.Random(SEED)
    served_from_cache = 0
    for _ in range(FLIPS):
        restore(cache, image)
        flip(cache / DB_NAME, rng)
        try:
            first = pack(PROMPT, root)
        except CcwError as error:
            # A flip the checks only catch once the pack was written out (its stored size):
            # the call fails and asks to be run again, the entry is gone.
            assert error.fix is not None and "run the command again" in error.fix
        else:
            assert first.pack == truth
            served_from_cache += first.cache_used
        # The next call must work as well, from whatever the first one left behind.
        second = pack(PROMPT, root)
        assert second.pack == truth
        store = CacheStore(cache)
        assert store.stats()["entries"] <= 1
        store.entries()
        store.clear()
    # Most flips land in pages that do not matter: the cache keeps working through them.
    assert served_from_cache > FLIPS // 4


def _damage_chunk(db: Path, seq: int = 0, old: str = "alpha_1", new: str = "omega_1") -> None:
    """The same length, other bytes: only the chunk's hash can tell."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE chunks SET data = CAST(REPLACE(CAST(data AS TEXT), ?, ?) AS BLOB) "
            "WHERE seq = ?",
            (old, new, seq),
        )
        assert conn.total_changes == 1
    conn.close()


def _delete_chunk(db: Path, seq: int) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("DELETE FROM chunks WHERE seq = ?", (seq,)).rowcount == 1
    conn.close()


def _spoil_chunk(db: Path, how: str, seq: int, old: str, new: str) -> None:
    """Chunk ``seq`` damaged (``old`` turned into ``new``) or missing."""
    if how == "damaged":
        _damage_chunk(db, seq, old, new)
    else:
        _delete_chunk(db, seq)


def rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    """The rows of ``query`` on the database file, on a connection of its own."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(query))
    finally:
        conn.close()


def _damage_warnings(warnings: list[str]) -> list[str]:
    return [w for w in warnings if "damaged stored pack" in w]


def test_the_whole_pack_is_stored_as_one_checked_chunk(
    tmp_path: Path, warm: tuple[Path, str, bytes]
) -> None:
    _, truth, _ = warm
    stored = rows(tmp_path / "cache" / DB_NAME, "SELECT seq, hash, size, data FROM chunks")
    assert len(stored) == 1
    seq, digest, size, data = stored[0]
    assert (seq, size, data) == (0, len(truth.encode()), truth.encode())
    assert digest == hashlib.sha256(truth.encode()).hexdigest()


@pytest.mark.parametrize("how", ["damaged", "missing"])
def test_a_bad_chunk_on_a_hit_drops_the_entry_and_packs_afresh(
    tmp_path: Path, pack: Pack, warm: tuple[Path, str, bytes], how: str
) -> None:
    root, truth, _ = warm
    db = tmp_path / "cache" / DB_NAME
    if how == "damaged":
        _damage_chunk(db)
    else:
        _delete_chunk(db, 0)
    result = pack(PROMPT, root)
    assert result.pack == truth and "omega" not in result.pack
    assert not result.cache_used and result.files_read == 3
    assert len(_damage_warnings(result.warnings)) == 1, result.warnings
    assert result.session_id is not None  # stored afresh
    counter, total, chunks = counted(tmp_path / "cache")
    assert counter == total == len(truth.encode()) and chunks == 1
    later = [pack(PROMPT, root) for _ in range(2)]
    assert all(item.pack == truth and item.warnings == [] for item in later)
    assert later[-1].cache_used and later[-1].files_read == 0


def test_a_damaged_chunk_of_a_file_changed_behind_its_stat_is_packed_afresh(
    tmp_path: Path, pack: Pack, warm: tuple[Path, str, bytes]
) -> None:
    """A file rewritten with the same size, inode and mtime: the damaged pack is dropped
    and the new one made from what the files hold now."""
    root, truth, _ = warm
    _damage_chunk(tmp_path / "cache" / DB_NAME)
    target = root / "src" / "a.py"
    before = target.stat()
    with target.open("r+b") as handle:
        handle.write(b"gamma")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    fresh = pack(PROMPT, root, use_cache=False).pack
    assert fresh != truth
    result = pack(PROMPT, root)
    assert result.pack == fresh and not result.cache_used
    assert _damage_warnings(result.warnings)
    assert pack(PROMPT, root).pack == fresh


def test_a_damaged_chunk_is_not_used_to_repack(
    tmp_path: Path, pack: Pack, warm: tuple[Path, str, bytes]
) -> None:
    """notes.md changes, so the next call repacks: a.py and b.py would come from the one
    damaged chunk, so they are read from disk; the damage is told once."""
    root, _, _ = warm
    _damage_chunk(tmp_path / "cache" / DB_NAME)
    (root / "notes.md").write_text(FILES["notes.md"] + "- one more\n")
    truth = pack(PROMPT, root, use_cache=False).pack
    result = pack(PROMPT, root)
    assert result.pack == truth and "omega" not in result.pack
    assert result.files_read == 3
    assert len(_damage_warnings(result.warnings)) == 1, result.warnings
    assert pack(PROMPT, root).pack == truth


# A pack of two chunks: big.txt fills the first and starts the second, b.txt and notes.md
# lie in the second alone.
BIG: Tree = {
    "big.txt": "".join(f"alpha_{n:07d}\n" for n in range(80_000)),  # 1.22 MiB
    "b.txt": "".join(f"beta_{n}\n" for n in range(500)),
    "notes.md": "# Notes\n",
}
BIG_PROMPT = "@big.txt @b.txt @notes.md"
ROOMY = {"max_file_bytes": 4 << 20, "max_total_bytes": 8 << 20}


@pytest.fixture
def two_chunks(tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack) -> tuple[Path, str]:
    root = tree(BIG)
    age(root)
    truth = pack(BIG_PROMPT, root, use_cache=False, **ROOMY).pack
    assert pack(BIG_PROMPT, root, **ROOMY).session_id is not None
    chunks = rows(tmp_path / "cache" / DB_NAME, "SELECT seq, size FROM chunks ORDER BY seq")
    assert chunks == [(0, CHUNK_BYTES), (1, len(truth.encode()) - CHUNK_BYTES)]
    return root, truth


@pytest.mark.parametrize("how", ["damaged", "missing"])
def test_a_bad_chunk_used_for_a_partial_change_is_read_from_disk(
    tmp_path: Path, pack: Pack, two_chunks: tuple[Path, str], how: str
) -> None:
    """notes.md changes: big.txt's bytes would come from the bad first chunk, so big.txt
    is read from disk; b.txt's come from the good second chunk."""
    root, _ = two_chunks
    db = tmp_path / "cache" / DB_NAME
    _spoil_chunk(db, how, 0, "alpha_0000001", "omega_0000001")
    (root / "notes.md").write_text("# Notes, longer now\n")
    truth = pack(BIG_PROMPT, root, use_cache=False, **ROOMY).pack
    result = pack(BIG_PROMPT, root, **ROOMY)
    assert result.pack == truth and "omega" not in result.pack
    assert result.files_read == 2 and not result.cache_used
    if how == "damaged":
        assert len(_damage_warnings(result.warnings)) == 1, result.warnings
    again = pack(BIG_PROMPT, root, **ROOMY)
    assert again.pack == truth and again.warnings == []
    counter, total, chunks = counted(tmp_path / "cache")
    assert counter == total == len(truth.encode()) and chunks == 2


@pytest.mark.parametrize("how", ["damaged", "missing"])
def test_a_bad_chunk_found_after_part_of_the_pack_was_written_fails_the_call(
    tmp_path: Path, pack: Pack, two_chunks: tuple[Path, str], how: str
) -> None:
    """The first chunk already went out: the call fails with a fix, the entry is dropped,
    and the next call makes the pack afresh."""
    root, truth = two_chunks
    db = tmp_path / "cache" / DB_NAME
    _spoil_chunk(db, how, 1, "beta_1", "zeta_1")
    with pytest.raises(CcwError) as caught:
        pack(BIG_PROMPT, root, **ROOMY)
    assert "damaged" in caught.value.message
    assert caught.value.fix is not None and "run the command again" in caught.value.fix
    assert rows(db, "SELECT COUNT(*) FROM entries") == [(0,)]
    assert rows(db, "SELECT COUNT(*) FROM chunks") == [(0,)]
    fresh = pack(BIG_PROMPT, root, **ROOMY)
    assert fresh.pack == truth and not fresh.cache_used and fresh.files_read == 3
    hit = pack(BIG_PROMPT, root, **ROOMY)
    assert hit.pack == truth and hit.cache_used and hit.files_read == 0


def test_read_range_refuses_bytes_that_do_not_match_their_hash(
    tmp_path: Path, two_chunks: tuple[Path, str]
) -> None:
    _, truth = two_chunks
    db = tmp_path / "cache" / DB_NAME
    (pack_id,) = rows(db, "SELECT pack FROM entries")[0]
    assert isinstance(pack_id, int)
    text = truth.encode()
    store = CacheStore(tmp_path / "cache")
    across = CHUNK_BYTES - 100  # 200 bytes over the two chunks' seam
    with store.writer() as writer:
        assert writer.read_range(pack_id, across, 200) == text[across : across + 200]
        assert writer.read_range(pack_id, 10, 50) == text[10:60]
        assert writer.read_range(pack_id, len(text) - 5, 10) is None  # past the end
        assert writer.read_range(pack_id + 1, 0, 10) is None  # no such pack
    _damage_chunk(db, 1, "beta_1", "zeta_1")
    with store.writer() as writer:
        assert writer.read_range(pack_id, 10, 50) == text[10:60]  # the first is still good
        assert writer.read_range(pack_id, across, 200) is None
    assert _damage_warnings(store.warnings)


def test_each_chunk_is_checked_once_when_files_are_read_out_of_order(
    tmp_path: Path, two_chunks: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partial change read in another order than the pack's (files ranked by size) takes
    slices of chunks checked once, not a whole chunk read and hashed again per file."""
    import ccw.context.store as store_module

    _, truth = two_chunks
    db = tmp_path / "cache" / DB_NAME
    (pack_id,) = rows(db, "SELECT pack FROM entries")[0]
    assert isinstance(pack_id, int)
    text = truth.encode()
    hashed: list[int] = []

    class Counting:
        @staticmethod
        def sha256(data: bytes = b"") -> hashlib._Hash:
            hashed.append(len(data))
            return hashlib.sha256(data)

    monkeypatch.setattr(store_module, "hashlib", Counting)
    second = CHUNK_BYTES + 10
    with CacheStore(tmp_path / "cache").writer() as writer:
        for _ in range(5):  # back and forth between the two chunks
            assert writer.read_range(pack_id, 10, 50) == text[10:60]
            assert writer.read_range(pack_id, second, 30) == text[second : second + 30]
    assert len([size for size in hashed if size]) == 2


_SPOIL = "UPDATE entries SET {column} = {value}"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("patterns", "CAST(X'5bff5d' AS TEXT)"),  # not UTF-8
        ("watch_paths", "CAST(watch_paths AS TEXT)"),
        ("watch_numbers", "substr(watch_numbers, 1, length(watch_numbers) - 8)"),
        ("patterns", "'[1, 2'"),
        ("paths", "CAST(paths AS TEXT)"),
        ("paths", "CAST('src/a.py' AS BLOB)"),  # one path for three files' numbers
        ("numbers", "'0'"),
        ("numbers", "substr(numbers, 1, length(numbers) - 8)"),  # one number short
        ("numbers", "substr(numbers, 1, length(numbers) - 3)"),  # not whole numbers
        ("reasons", "CAST(reasons AS BLOB)"),
        ("reasons", '\'{"7": "binary"}\''),  # a reason for a file that is not there
        ("reasons", "'{\"0\": 5}'"),
        ("reasons", "'[1'"),
    ],
)
def test_undecodable_rows_are_treated_as_damage(
    tmp_path: Path, pack: Pack, warm: tuple[Path, str, bytes], column: str, value: str
) -> None:
    root, truth, _ = warm
    db = tmp_path / "cache" / DB_NAME
    with sqlite3.connect(db) as conn:
        conn.execute(_SPOIL.format(column=column, value=value))
        assert conn.total_changes == 1
    conn.close()
    result = pack(PROMPT, root)
    assert result.pack == truth and not result.cache_used
    assert any("moved to" in warning for warning in result.warnings), result.warnings
    assert (tmp_path / "cache" / (DB_NAME + ".corrupt")).exists()
    hit = pack(PROMPT, root)
    assert hit.cache_used and hit.pack == truth and hit.warnings == []


def test_an_undecodable_row_seen_by_the_cache_commands_is_damage(
    tmp_path: Path, warm: tuple[Path, str, bytes]
) -> None:
    db = tmp_path / "cache" / DB_NAME
    (entry_id,) = rows(db, "SELECT id FROM entries")[0]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE entries SET numbers = 'x'")
    conn.close()
    store = CacheStore(tmp_path / "cache")
    assert store.entry(str(entry_id)) is None  # the database was rebuilt empty
    assert any("moved to" in warning for warning in store.warnings)


def _config_with_cache_dir(project: Path, cache_dir: Path) -> None:
    config = project / ".ccw" / "storage" / "config" / "litellm-api-config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        json.dumps(
            {
                "version": 1,
                "providers": [],
                "endpoints": [],
                "globalCacheSettings": {"enabled": True, "cacheDir": str(cache_dir)},
            }
        )
    )


def test_cli_survives_a_damaged_database(run_ccw: RunCcw, project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cli-cache"
    _config_with_cache_dir(project, cache)
    (project / "a.txt").write_text("hello\n" * 50)
    first = run_ccw("pack", "a.txt")
    assert first.returncode == 0, first.stderr
    image = checkpoint(cache / DB_NAME)
    rng = random.Random(SEED)
    for _ in range(2):
        restore(cache, image)
        data = bytearray(image)
        for _ in range(40):
            data[rng.randrange(len(data))] ^= 0xFF
        (cache / DB_NAME).write_bytes(bytes(data))
        for args in (("pack", "a.txt"), ("cache", "list"), ("cache", "clear"), ("cache", "stats")):
            done = run_ccw(*args)
            assert "Traceback" not in done.stderr, (args, done.stderr)
            assert done.returncode == 0, (args, done.stderr)
            if args[0] == "pack":
                assert done.stdout.count("hello") == 50


def test_cli_packs_afresh_over_a_damaged_chunk(
    run_ccw: RunCcw, project: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cli-cache"
    _config_with_cache_dir(project, cache)
    (project / "a.txt").write_text("hello\n" * 50)
    age(project)
    assert run_ccw("pack", "a.txt").returncode == 0
    truth = run_ccw("pack", "a.txt", "--no-cache").stdout
    _damage_chunk(cache / DB_NAME, 0, "hello", "HELLO")
    done = run_ccw("pack", "a.txt")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == truth and "HELLO" not in done.stdout
    assert "damaged stored pack" in " ".join(done.stderr.split())
    again = run_ccw("pack", "a.txt")
    assert again.stdout == truth and "damaged" not in again.stderr


def test_cli_fails_with_a_fix_when_damage_is_found_midway(
    run_ccw: RunCcw, project: Path, tmp_path: Path
) -> None:
    """A chunk after the first is damaged: the first already reached stdout, so the call
    fails (no traceback) asking to be run again, and the next run makes the pack afresh."""
    cache = tmp_path / "cli-cache"
    _config_with_cache_dir(project, cache)
    for name in ("a.txt", "b.txt"):  # two files under the per-file limit, two chunks
        (project / name).write_text("".join(f"{name} {n:07d}\n" for n in range(50_000)))
    age(project)
    args = ("pack", "a.txt", "b.txt", "--max-size-kb", "4096")
    assert run_ccw(*args).returncode == 0
    truth = run_ccw(*args, "--no-cache").stdout
    assert len(truth.encode()) > CHUNK_BYTES
    _damage_chunk(cache / DB_NAME, 1, "b.txt 0040000", "b.txt 9940000")
    failed = run_ccw(*args)
    assert failed.returncode == 1, failed.stderr
    assert "Traceback" not in failed.stderr
    assert "run the command again" in " ".join(failed.stderr.split())
    fresh = run_ccw(*args)
    assert fresh.returncode == 0 and fresh.stdout == truth
    hit = run_ccw(*args, "--json")
    assert hit.returncode == 0 and json.loads(hit.stdout)["cacheUsed"] is True


@pytest.mark.parametrize("kind", ["file", "unwritable"])
def test_a_cache_dir_that_cannot_be_used_is_bypassed(
    run_ccw: RunCcw, project: Path, tmp_path: Path, kind: str
) -> None:
    if kind == "file":
        cache = tmp_path / "a-file"
        cache.write_text("not a folder")
    else:
        cache = tmp_path / "a-file-parent" / "cache"
        cache.parent.write_text("not a folder either")
    _config_with_cache_dir(project, cache)
    (project / "a.txt").write_text("hello\n")
    done = run_ccw("pack", "a.txt")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "hello" in done.stdout
    assert "without the cache" in done.stderr
    stats = run_ccw("cache", "stats")
    assert "Traceback" not in stats.stderr
    assert stats.returncode != 0 and "cache" in stats.stderr


class FullStore(CacheStore):
    """A store whose database may not grow: every write past its size is SQLITE_FULL."""

    def _open(self) -> sqlite3.Connection:
        conn = super()._open()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        return conn


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import ccw.context.build as build

    monkeypatch.setattr(build, "CacheStore", FullStore)
    yield


def test_a_full_database_is_unavailable_not_corrupt(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack, full_disk: None
) -> None:
    # A pack larger than the free room of the database's pages: it must grow to store it.
    root = tree({**FILES, "big.md": "".join(f"- line {n}\n" for n in range(30_000))})
    age(root)
    pack("@notes.md", root)  # creates the database, then it may not grow any more
    db = tmp_path / "cache" / DB_NAME
    before = db.stat().st_ino
    prompt = PROMPT + " @big.md"
    result = pack(prompt, root, use_cache=True)
    assert result.pack == pack(prompt, root, use_cache=False).pack
    assert result.session_id is None
    assert any("full" in warning for warning in result.warnings), result.warnings
    assert not any("corrupt" in w or "moved to" in w for w in result.warnings)
    assert not list((tmp_path / "cache").glob("*.corrupt*"))
    assert db.stat().st_ino == before


def test_a_file_size_limit_is_unavailable_not_corrupt(
    run_ccw: RunCcw, project: Path, tmp_path: Path, ccw_env: dict[str, str]
) -> None:
    """A real write error from the operating system (EFBIG past RLIMIT_FSIZE)."""
    cache = tmp_path / "cli-cache"
    _config_with_cache_dir(project, cache)
    (project / "small.txt").write_text("small\n")
    big = "".join(f"line {n} of a big file\n" for n in range(20000))
    (project / "big.txt").write_text(big)
    assert run_ccw("pack", "small.txt").returncode == 0
    checkpoint(cache / DB_NAME)
    entries = CacheStore(cache).stats()["entries"]

    def capped(*args: str) -> subprocess.CompletedProcess[str]:
        # The WAL file may not grow past 1 KB: its first frame fails with EFBIG.
        return subprocess.run(
            [sys.executable, "-m", "ccw", *args],
            cwd=project,
            env=ccw_env,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024)),
        )

    hit = capped("pack", "small.txt")  # a hit, whose counter update fails
    new = capped("pack", "big.txt")  # a miss, whose store fails
    for done in (hit, new):
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert "moved to" not in done.stderr
    assert hit.stdout.count("\nsmall\n") == 1
    assert new.stdout.count("of a big file") == 20000
    assert not list(cache.glob("*.corrupt*"))
    assert CacheStore(cache).stats()["entries"] == entries


def test_cache_commands_on_a_damaged_database_warn_and_work(
    run_ccw: RunCcw, project: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cli-cache"
    _config_with_cache_dir(project, cache)
    (project / "a.txt").write_text("hello\n")
    assert run_ccw("pack", "a.txt").returncode == 0
    with sqlite3.connect(cache / DB_NAME) as conn:
        conn.execute("UPDATE entries SET patterns = CAST(X'5bff5d' AS TEXT)")
    done = run_ccw("cache", "list")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "moved to context.db.corrupt" in " ".join(done.stderr.split())
    cleared = run_ccw("cache", "clear")
    assert cleared.returncode == 0 and "removed 0" in cleared.stderr + cleared.stdout
