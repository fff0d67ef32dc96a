"""A damaged, full or misplaced cache database never alters a pack and never fails a call."""

from __future__ import annotations

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

import pytest

from ccw.context.api import ContextResult
from ccw.context.store import DB_NAME, CacheStore

from ..conftest import RunCcw
from .conftest import Tree, age

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
        first = pack(PROMPT, root)
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


def _damage_a_py(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        # The same length, other bytes: only the hash can tell.
        conn.execute(
            "UPDATE blobs SET data = CAST(REPLACE(CAST(data AS TEXT), 'alpha_1', 'omega_1') "
            "AS BLOB) WHERE hash = (SELECT hash FROM entry_files WHERE path = 'src/a.py')"
        )
        assert conn.total_changes == 1


def test_no_whole_pack_is_stored(tmp_path: Path, warm: tuple[Path, str, bytes]) -> None:
    """The pack is rebuilt from its files: the blobs are the three files, nothing more."""
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as conn:
        sizes = sorted(size for (size,) in conn.execute("SELECT size FROM blobs"))
    assert sizes == sorted(len(text.encode()) for text in FILES.values())


def test_a_damaged_file_blob_is_repaired_from_disk_on_a_hit(
    tmp_path: Path, pack: Pack, warm: tuple[Path, str, bytes]
) -> None:
    root, truth, _ = warm
    _damage_a_py(tmp_path / "cache" / DB_NAME)
    result = pack(PROMPT, root)
    assert result.pack == truth
    assert result.cache_used and result.files_read == 1
    assert any("damaged" in warning for warning in result.warnings)
    later = [pack(PROMPT, root) for _ in range(2)]
    assert all(item.pack == truth and item.warnings == [] for item in later)
    assert later[-1].cache_used and later[-1].files_read == 0


def test_a_damaged_blob_of_a_file_changed_behind_its_stat_is_packed_afresh(
    tmp_path: Path, pack: Pack, warm: tuple[Path, str, bytes]
) -> None:
    """The repair needs the very bytes that were stored: a file rewritten with the same
    size, inode and mtime cannot vouch for them, so the entry goes and the pack is new."""
    root, truth, _ = warm
    _damage_a_py(tmp_path / "cache" / DB_NAME)
    target = root / "src" / "a.py"
    before = target.stat()
    with target.open("r+b") as handle:
        handle.write(b"gamma")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    fresh = pack(PROMPT, root, use_cache=False).pack
    assert fresh != truth
    result = pack(PROMPT, root)
    assert result.pack == fresh and not result.cache_used
    assert any("damaged" in warning for warning in result.warnings)
    assert pack(PROMPT, root).pack == fresh


def test_a_damaged_file_blob_is_not_used_to_repack(
    tmp_path: Path, pack: Pack, warm: tuple[Path, str, bytes]
) -> None:
    root, _, _ = warm
    _damage_a_py(tmp_path / "cache" / DB_NAME)
    # notes.md changes, so the next call repacks, reusing the stored a.py and b.py.
    notes = root / "notes.md"
    notes.write_text(FILES["notes.md"] + "- one more\n")
    truth = pack(PROMPT, root, use_cache=False).pack
    result = pack(PROMPT, root)
    assert result.pack == truth
    assert result.files_read == 2
    assert pack(PROMPT, root).pack == truth


def test_read_blob_refuses_bytes_that_do_not_match_their_hash(
    tmp_path: Path, warm: tuple[Path, str, bytes]
) -> None:
    db = tmp_path / "cache" / DB_NAME
    with sqlite3.connect(db) as conn:
        digest = conn.execute("SELECT hash FROM entry_files WHERE path = 'notes.md'").fetchone()[0]
        good = conn.execute("SELECT data FROM blobs WHERE hash = ?", (digest,)).fetchone()[0]
    store = CacheStore(tmp_path / "cache")
    with store.writer() as writer:
        assert writer.read_blob(digest) == good
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE blobs SET data = ? WHERE hash = ?", (b"X" + good[1:], digest))
    with store.writer() as writer:
        assert writer.read_blob(digest) is None
    assert any("damaged" in warning for warning in store.warnings)


def test_undecodable_rows_are_treated_as_damage(
    tmp_path: Path, pack: Pack, warm: tuple[Path, str, bytes]
) -> None:
    root, truth, _ = warm
    db = tmp_path / "cache" / DB_NAME
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE entries SET watch = CAST(X'7bff22' AS TEXT)")
    result = pack(PROMPT, root)
    assert result.pack == truth
    assert any("moved to" in warning for warning in result.warnings)
    assert (tmp_path / "cache" / (DB_NAME + ".corrupt")).exists()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE entries SET patterns = '[1, 2' ")
    store = CacheStore(tmp_path / "cache")
    store.entries()
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
    root = tree(FILES)
    age(root)
    pack("@notes.md", root)  # creates the database, then it may not grow any more
    db = tmp_path / "cache" / DB_NAME
    before = db.stat().st_ino
    result = pack(PROMPT, root, use_cache=True)
    assert result.pack == pack(PROMPT, root, use_cache=False).pack
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
