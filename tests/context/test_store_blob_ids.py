"""File rows point at their blobs by integer id: an older cache is converted in place (its
entries still hit), a repaired blob is pointed at again, shared blobs are stored once and
collected only when no entry holds them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from ccw.context.api import ContextResult
from ccw.context.store import DB_NAME, MIGRATIONS
from ccw.sqlite import open_database

from .conftest import Tree, age
from .test_store_totals import counted

Pack = Callable[..., ContextResult]
FILES = {
    "src/a.py": "".join(f"alpha_{n} = {n}\n" for n in range(200)),
    "src/b.py": "".join(f"beta_{n} = {n}\n" for n in range(150)),
    "docs/notes.md": "# notes\n\nsome words\n",
    "copy/a.py": "".join(f"alpha_{n} = {n}\n" for n in range(200)),  # same bytes as src/a.py
}
PROMPT = "@src/a.py @src/b.py @docs/notes.md @copy/a.py"
# The schema before blobs had ids: the migrations up to the counted total.
OLD = MIGRATIONS[: [m.name for m in MIGRATIONS].index("the blobs' total size is counted") + 1]


def _rows(db: Path, query: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(query))
    finally:
        conn.close()


def _downgrade(new: Path, old: Path) -> None:
    """Copy ``new``'s entries into a database of the older schema: blobs in reverse order
    (so their rowids differ from the ids they had), file rows without blob ids, and an
    orphan blob."""
    conn = open_database(old, OLD, busy_timeout_s=1)
    conn.execute("ATTACH DATABASE ? AS new", (str(new),))
    conn.execute("BEGIN")
    conn.execute("INSERT INTO blobs (hash, size, data) VALUES ('orphan', 3, x'000000')")
    conn.execute(
        "INSERT INTO blobs (hash, size, data) SELECT hash, size, data FROM new.blobs "
        "ORDER BY id DESC"
    )
    conn.execute("INSERT INTO entries SELECT * FROM new.entries")
    conn.execute(
        "INSERT INTO entry_files (entry_id, pos, path, size, mtime_ns, ino, hash, tokens, "
        "reason) SELECT entry_id, pos, path, size, mtime_ns, ino, hash, tokens, reason "
        "FROM new.entry_files"
    )
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE new")
    conn.close()


def test_an_older_cache_is_converted_and_its_entries_still_hit(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree(FILES)
    age(root)
    first = pack(PROMPT, root, cache_dir=tmp_path / "new")
    assert first.session_id is not None
    (tmp_path / "cache").mkdir()
    db = tmp_path / "cache" / DB_NAME
    _downgrade(tmp_path / "new" / DB_NAME, db)
    assert "blob" not in {row[1] for row in _rows(db, "PRAGMA table_info(entry_files)")}

    hit = pack(PROMPT, root)
    assert hit.cache_used and hit.files_read == 0
    assert hit.session_id == first.session_id
    assert hit.pack == pack(PROMPT, root, use_cache=False).pack
    # Every file row points at the blob of its own hash; the orphan was not carried over.
    rows = _rows(
        db,
        "SELECT f.hash, b.hash FROM entry_files AS f LEFT JOIN blobs AS b ON b.id = f.blob",
    )
    assert len(rows) == 4 and all(mine == theirs for mine, theirs in rows)
    assert _rows(db, "SELECT COUNT(*) FROM blobs WHERE hash = 'orphan'") == [(0,)]
    counter, total, blobs = counted(tmp_path / "cache")
    assert counter == total and blobs == 3  # the two copies of a.py are one blob
    indexes = {row[1] for row in _rows(db, "PRAGMA index_list(entry_files)")}
    assert "entry_files_blob" in indexes and "entry_files_hash" not in indexes


def test_a_repaired_blob_is_pointed_at_again(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    """A blob whose row is gone is read again from disk, stored anew, and the file row
    points at the new row: the next hit reads nothing from disk."""
    root = tree(FILES)
    age(root)
    pack(PROMPT, root)
    db = tmp_path / "cache" / DB_NAME
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "DELETE FROM blobs WHERE id = (SELECT blob FROM entry_files WHERE path = 'src/b.py')"
        )
    conn.close()
    repaired = pack(PROMPT, root)
    assert repaired.cache_used and repaired.files_read == 1
    again = pack(PROMPT, root)
    assert again.cache_used and again.files_read == 0
    assert again.pack == pack(PROMPT, root, use_cache=False).pack
    counter, total, _ = counted(tmp_path / "cache")
    assert counter == total


def test_a_shared_blob_outlives_the_entry_that_is_dropped(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree(FILES)
    age(root)
    both = pack("@src/a.py @src/b.py", root)
    alone = pack("@copy/a.py", root)  # the same bytes as src/a.py: the same blob
    db = tmp_path / "cache" / DB_NAME
    assert _rows(db, "SELECT COUNT(*) FROM blobs") == [(2,)]
    assert len({row[0] for row in _rows(db, "SELECT blob FROM entry_files")}) == 2
    from ccw.context.store import CacheStore

    store = CacheStore(tmp_path / "cache")
    assert both.session_id is not None and store.delete(both.session_id)
    assert _rows(db, "SELECT COUNT(*) FROM blobs") == [(1,)]  # b.py's blob went, a.py's stays
    hit = pack("@copy/a.py", root)
    assert hit.cache_used and hit.files_read == 0 and hit.session_id == alone.session_id
    assert counted(tmp_path / "cache")[0] == len(FILES["src/a.py"])
