"""The persistent context cache: one SQLite database (WAL) shared by every ccw process.

Contents are stored once by SHA-256: each packed file's bytes are a row of ``blobs``. An
entry ties a key (patterns, root and packing options) to its files, with the stat
fingerprints of those files and of the folders and ignore files that decided the listing,
so that a later call can rebuild the pack from the stored files after stat calls alone (one
blob read per file; the pack's own text is never stored). Entries expire by TTL; the total
size of blobs stays under ``maxTotalSizeMB`` by evicting the least recently used entries.

What is read is checked: a blob must hash to its name before any byte of it is served, and
every row must decode to the types written. Damage of any kind moves the database aside
(``context.db.corrupt``) and starts a new one, or, for a blob alone, is repaired from the
file on disk when it still holds those bytes. A database that cannot be used just now
(locked, disk full, an I/O or permission error, a folder that cannot be made) is left as it
is and reported with ``CacheUnavailable``, so that callers go on without the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ccw.errors import CcwError
from ccw.sqlite import (
    DamagedError,
    Migration,
    decoding,
    is_damage,
    is_locked,
    move_aside,
    open_database,
    run_script,
)

DB_NAME = "context.db"
BLOB_BYTES = "blob_bytes"  # the counter of the blobs' total size
BUSY_TIMEOUT_MS = 5000
FLUSH_BYTES = 8 << 20

_TABLES = """
CREATE TABLE IF NOT EXISTS blobs (
    hash TEXT PRIMARY KEY, size INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY, key TEXT NOT NULL UNIQUE, root TEXT NOT NULL, patterns TEXT NOT NULL,
    pack_hash TEXT NOT NULL, files INTEGER NOT NULL, bytes INTEGER NOT NULL,
    tokens INTEGER NOT NULL, created REAL NOT NULL, accessed REAL NOT NULL,
    expires REAL NOT NULL, packed_ns INTEGER NOT NULL, skipped TEXT NOT NULL,
    warnings TEXT NOT NULL, watch TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entry_files (
    entry_id TEXT NOT NULL, pos INTEGER NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, hash TEXT, tokens INTEGER NOT NULL,
    reason TEXT, PRIMARY KEY (entry_id, pos));
CREATE INDEX IF NOT EXISTS entry_files_hash ON entry_files(hash);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS token_counts (
    hash TEXT NOT NULL, model TEXT NOT NULL, tokens INTEGER NOT NULL,
    PRIMARY KEY (hash, model));
"""


def _add_excluded(conn: sqlite3.Connection) -> None:
    """Each entry keeps the policy counts of its selection in its own column."""
    conn.execute("ALTER TABLE entries ADD COLUMN excluded TEXT NOT NULL DEFAULT '{}'")


def _add_limits(conn: sqlite3.Connection) -> None:
    """Each entry keeps what its limits left out uncounted and the rule that chose its files."""
    conn.execute("ALTER TABLE entries ADD COLUMN limits TEXT NOT NULL DEFAULT '{}'")


def _drop_pack_texts(conn: sqlite3.Connection) -> None:
    """Packs are rebuilt from their files: the whole-pack blobs of older entries go."""
    conn.execute(
        "DELETE FROM blobs WHERE hash IN (SELECT pack_hash FROM entries) "
        "AND hash NOT IN (SELECT hash FROM entry_files WHERE hash IS NOT NULL)"
    )


def _create_tables(conn: sqlite3.Connection) -> None:
    run_script(conn, _TABLES)


# The blobs' total size, kept by triggers: the size limit is checked without reading the
# table (a sum over the blobs reads every page of a large cache).
_BLOB_BYTES = """
CREATE TRIGGER IF NOT EXISTS blobs_added AFTER INSERT ON blobs BEGIN
    UPDATE counters SET value = value + NEW.size WHERE name = 'blob_bytes'; END;
CREATE TRIGGER IF NOT EXISTS blobs_removed AFTER DELETE ON blobs BEGIN
    UPDATE counters SET value = value - OLD.size WHERE name = 'blob_bytes'; END;
"""


def _count_blob_bytes(conn: sqlite3.Connection) -> None:
    """The blobs' total size in ``counters`` (kept by triggers); orphans collected once."""
    conn.execute(
        "DELETE FROM blobs WHERE hash NOT IN (SELECT hash FROM entry_files WHERE hash IS NOT NULL)"
    )
    run_script(conn, _BLOB_BYTES)
    _recount(conn)


_BLOBS_BY_ID = """
CREATE TABLE blobs_by_id (
    id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
    data BLOB NOT NULL);
INSERT INTO blobs_by_id (id, hash, size, data) SELECT rowid, hash, size, data FROM blobs
    WHERE hash IN (SELECT hash FROM entry_files);
DROP TABLE blobs;
ALTER TABLE blobs_by_id RENAME TO blobs;
ALTER TABLE entry_files ADD COLUMN blob INTEGER;
UPDATE entry_files SET blob = (SELECT id FROM blobs WHERE blobs.hash = entry_files.hash)
    WHERE hash IS NOT NULL;
DROP INDEX IF EXISTS entry_files_hash;
CREATE INDEX entry_files_blob ON entry_files(blob);
"""


def _blobs_by_id(conn: sqlite3.Connection) -> None:
    """File rows point at their blob by its integer id: a hit reads the blobs through the
    table's own B-tree, mostly in the order they were written, instead of through a second
    index of random hash keys, and a stored pack adds integer keys in ascending order
    (the blobs keep their rowids as ids, orphans are not copied, the triggers are made
    again and the total counted afresh)."""
    run_script(conn, _BLOBS_BY_ID)
    run_script(conn, _BLOB_BYTES)
    _recount(conn)
    _give_back_free_pages(conn)  # the old table's pages


def _give_back_free_pages(conn: sqlite3.Connection) -> None:
    """Free pages back to the filesystem (databases made with ``auto_vacuum``), inside the
    caller's transaction: each step of the pragma frees one page, and ``executescript``,
    which steps it to the end, would commit first."""
    (free,) = conn.execute("PRAGMA freelist_count").fetchone()
    (mode,) = conn.execute("PRAGMA auto_vacuum").fetchone()
    while free and mode == 2:
        conn.execute(f"PRAGMA incremental_vacuum({int(free)})").fetchall()
        (left,) = conn.execute("PRAGMA freelist_count").fetchone()
        if left >= free:
            return
        free = left


# In order; the first two are schemas 1 and 2 of the ``PRAGMA user_version`` days.
MIGRATIONS = (
    Migration("create blobs, entries and counters", _create_tables),
    Migration("entries keep their policy counts", _add_excluded),
    Migration("entries keep what limits left out", _add_limits),
    Migration("packs are rebuilt from their files", _drop_pack_texts),
    Migration("the blobs' total size is counted", _count_blob_bytes),
    Migration("file rows point at their blobs by id", _blobs_by_id),
)


class CacheUnavailable(CcwError):
    """The cache database is locked by another process or cannot be opened."""

    kind = "cache_unavailable"


class StoredFile(NamedTuple):
    """A file as it was when packed; ``reason`` is set (and ``hash`` None) when left out.
    A tuple: a hit reads one per file and builds nothing heavier."""

    path: str
    size: int
    mtime_ns: int
    ino: int
    hash: str | None
    tokens: int
    reason: str | None = None
    blob: int | None = None  # the id of the stored blob, once stored


@dataclass
class StoredEntry:
    id: str
    key: str
    root: str
    patterns: list[str]
    pack_hash: str  # the pack's identity: SHA-256 over its files' paths and hashes
    bytes: int
    tokens: int
    created: float
    expires: float
    packed_ns: int
    files: list[StoredFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    watch: dict[str, Any] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)  # files left out by policy, by reason
    left_out: dict[str, int] = field(default_factory=dict)  # files a limit never looked at
    rule: str | None = None  # the rule that chose the files of a cut pack


def _typed(row: tuple[Any, ...] | sqlite3.Row, *kinds: type | tuple[type, ...]) -> tuple[Any, ...]:
    """``row`` itself when each value has its kind; a flipped type byte raises ``_Damaged``."""
    values = tuple(row)
    if len(values) != len(kinds) or not all(
        isinstance(value, kind) for value, kind in zip(values, kinds, strict=False)
    ):
        raise DamagedError("a row of the context cache does not have the types it was written with")
    return values


def _decoded(text: Any, kind: type) -> Any:
    """JSON written by the store, read back; anything else raises ``_Damaged``."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        raise DamagedError("a row of the context cache holds invalid JSON") from None
    if not isinstance(value, kind):
        raise DamagedError("a row of the context cache holds JSON of the wrong shape")
    return value


_NUMBER = (int, float)


class CacheStore:
    """The cache on disk; every method opens its own connection, so it is safe across
    processes and threads."""

    def __init__(
        self,
        cache_dir: Path,
        max_bytes: int = 100 * 1024 * 1024,
        enabled: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.path = self.cache_dir / DB_NAME
        self.max_bytes = max_bytes
        self.enabled = enabled
        self.clock = clock
        self.warnings: list[str] = []

    # -- connection ---------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        return open_database(self.path, MIGRATIONS, busy_timeout_s=BUSY_TIMEOUT_MS / 1000)

    def _rebuild(self, error: BaseException) -> None:
        aside = self.path.with_name(DB_NAME + ".corrupt")
        with contextlib.suppress(OSError):
            move_aside(self.path, aside)
        self.warnings.append(
            f"the context cache at {self.path} was damaged ({error}); it was moved to "
            f"{aside.name} and rebuilt"
        )

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection; a damaged database is rebuilt once, one that cannot be used now
        (locked, full, unwritable) raises ``CacheUnavailable`` and is left as it is."""
        for attempt in (1, 2):
            try:
                with decoding():
                    conn = self._open()
            except OSError as error:
                raise CacheUnavailable(
                    f"the context cache folder {self.cache_dir} cannot be used: "
                    f"{error.strerror or error}",
                    "point globalCacheSettings.cacheDir at a folder ccw may create and write",
                ) from None
            except sqlite3.Error as error:
                if not is_damage(error) or attempt == 2:
                    raise self._unavailable(error) from None
                self._rebuild(error)
                continue
            try:
                yield conn
                return
            except sqlite3.Error as error:
                if not is_damage(error) or attempt == 2:
                    raise self._unavailable(error) from None
                conn.close()
                self._rebuild(error)
                raise _Retry("the context cache was rebuilt") from None
            finally:
                conn.close()

    def _unavailable(self, error: sqlite3.Error) -> CacheUnavailable:
        if is_locked(error):
            fix = "retry when the other ccw process is done"
        elif is_damage(error):
            fix = "run `ccw cache clear`"
        else:
            fix = "free disk space and check the folder's permissions"
        return CacheUnavailable(f"the context cache at {self.path} is unavailable: {error}", fix)

    def _run(self, action: Callable[[sqlite3.Connection], Any]) -> Any:
        for _ in (1, 2):
            try:
                with self._connection() as conn, decoding():
                    return action(conn)
            except _Retry:
                continue
        raise CacheUnavailable(f"the context cache at {self.path} could not be rebuilt")

    # -- public: stats, entries, delete, clear ------------------------------------------

    def stats(self) -> dict[str, Any]:
        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            now = self.clock()
            counters = dict(
                _typed(row, str, int)
                for row in conn.execute("SELECT name, value FROM counters").fetchall()
            )
            entries, expired = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(expires <= ?), 0) FROM entries", (now,)
            ).fetchone()
            total = counters.get(BLOB_BYTES)
            if total is None:
                total = _typed(
                    conn.execute("SELECT COALESCE(SUM(size), 0) FROM blobs").fetchone(), int
                )[0]
            return {
                "enabled": self.enabled,
                "entries": entries,
                "totalBytes": total,
                "maxBytes": self.max_bytes,
                "hits": counters.get("hits", 0),
                "misses": counters.get("misses", 0),
                "expired": expired,
                "cacheDir": str(self.cache_dir),
            }

        return dict(self._run(read))

    def entries(self) -> list[dict[str, Any]]:
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT id, patterns, files, bytes, created, accessed, expires FROM entries "
                "ORDER BY accessed DESC, id"
            ).fetchall()
            return [self._describe(row) for row in rows]

        return list(self._run(read))

    def entry(self, entry_id: str) -> dict[str, Any] | None:
        def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(
                "SELECT id, patterns, files, bytes, created, accessed, expires FROM entries "
                "WHERE id = ?",
                (entry_id,),
            ).fetchone()
            if row is None:
                return None
            described = self._describe(row)
            described["fileList"] = [
                {"path": path, "size": size, "tokens": tokens}
                for path, size, tokens in (
                    _typed(file_row, str, int, int)
                    for file_row in conn.execute(
                        "SELECT path, size, tokens FROM entry_files "
                        "WHERE entry_id = ? AND reason IS NULL ORDER BY pos",
                        (entry_id,),
                    )
                )
            ]
            return described

        result: dict[str, Any] | None = self._run(read)
        return result

    def delete(self, entry_id: str) -> bool:
        def remove(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                removed = _delete_entries(conn, "id = ?", (entry_id,))
            return removed > 0

        return bool(self._run(remove))

    def clear(self, expired_only: bool = False) -> int:
        def remove(conn: sqlite3.Connection) -> int:
            with _transaction(conn):
                if expired_only:
                    removed = _delete_entries(conn, "expires <= ?", (self.clock(),))
                else:
                    removed = _delete_entries(conn, "1", ())
                _collect_orphans(conn)  # and what a stopped store left behind
            # The freed pages back to the disk. Each step of the pragma frees one page, and
            # only a script runs it to the end (``execute`` steps once).
            conn.executescript("PRAGMA incremental_vacuum")
            return removed

        return int(self._run(remove))

    def _describe(self, row: tuple[Any, ...]) -> dict[str, Any]:
        entry_id, patterns, files, size, created, accessed, expires = _typed(
            row, str, str, int, int, _NUMBER, _NUMBER, _NUMBER
        )
        return {
            "id": entry_id,
            "patterns": _decoded(patterns, list),
            "files": files,
            "bytes": size,
            "createdAt": _iso(created),
            "accessedAt": _iso(accessed),
            "expiresAt": _iso(expires),
            "expired": expires <= self.clock(),
        }

    # -- used by build_context ----------------------------------------------------------

    def lookup(self, key: str) -> StoredEntry | None:
        """The entry stored for ``key`` (expired or not), with its files."""

        def read(conn: sqlite3.Connection) -> StoredEntry | None:
            row = conn.execute(
                "SELECT id, key, root, patterns, pack_hash, bytes, tokens, created, expires, "
                "packed_ns, skipped, warnings, watch, excluded, limits FROM entries WHERE key = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            row = _typed(row, *_ENTRY_KINDS)
            patterns, skipped = _decoded(row[3], list), _decoded(row[10], list)
            warnings, watch = _decoded(row[11], list), _decoded(row[12], dict)
            excluded, limits = _decoded(row[13], dict), _decoded(row[14], dict)
            left_out, rule = limits.get("leftOut", {}), limits.get("rule")
            if not (
                all(isinstance(item, str) for item in [*patterns, *warnings])
                and all(_is_pair_of_text(item) for item in skipped)
                and all(_is_fingerprint(item) for item in watch.values())
                and all(type(count) is int for count in excluded.values())
                and isinstance(left_out, dict)
                and all(type(count) is int for count in left_out.values())
                and (rule is None or isinstance(rule, str))
            ):
                raise DamagedError("a row of the context cache holds JSON of the wrong shape")
            entry = StoredEntry(
                id=row[0],
                key=row[1],
                root=row[2],
                patterns=patterns,
                pack_hash=row[4],
                bytes=row[5],
                tokens=row[6],
                created=row[7],
                expires=row[8],
                packed_ns=row[9],
                skipped=[(path, reason) for path, reason in skipped],
                warnings=warnings,
                watch=watch,
                excluded=excluded,
                left_out=left_out,
                rule=rule,
            )
            (mistyped,) = conn.execute(_MISTYPED_FILES, (entry.id,)).fetchone()
            if mistyped:
                raise DamagedError(
                    "a row of the context cache does not have the types it was written with"
                )
            entry.files = list(
                map(
                    StoredFile._make,
                    conn.execute(
                        "SELECT path, size, mtime_ns, ino, hash, tokens, reason, blob "
                        "FROM entry_files WHERE entry_id = ? ORDER BY pos",
                        (entry.id,),
                    ),
                )
            )
            return entry

        result: StoredEntry | None = self._run(read)
        return result

    def replay(self, entry: StoredEntry, take: Callable[[str, str, bytes | None], None]) -> int:
        """Hand each packed file of ``entry`` to ``take(path, hash, data)`` in pack order, in
        one read transaction; ``data`` is None when the stored copy is missing or no longer
        hashes to its name (the caller repairs it, see ``record_hit``). The number of files
        handed over: fewer than the entry holds when the database was rebuilt meanwhile."""
        delivered = 0

        def read(conn: sqlite3.Connection) -> None:
            nonlocal delivered
            delivered = 0
            sha256 = hashlib.sha256
            conn.execute("BEGIN")
            try:
                for path, digest, data in conn.execute(_PACKED_BLOBS, (entry.id,)):
                    if not isinstance(digest, str):
                        raise DamagedError("a packed file of the context cache has no hash")
                    if not isinstance(data, bytes) or sha256(data).hexdigest() != digest:
                        self._damaged_blob("a file")
                        data = None
                    take(path, digest, data)
                    delivered += 1
            finally:
                _rollback(conn)

        self._run(read)
        return delivered

    def _damaged_blob(self, what: str) -> None:
        self.warnings.append(
            f"the context cache at {self.path} held a damaged copy of {what} (its bytes no "
            "longer match their hash); it was read again from disk"
        )

    def token_counts(self, model: str) -> dict[str, int]:
        def read(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute("SELECT hash, tokens FROM token_counts WHERE model = ?", (model,))
            return dict(_typed(row, str, int) for row in rows.fetchall())

        return dict(self._run(read))

    def record_hit(self, entry: StoredEntry, repaired: dict[str, bytes] | None = None) -> None:
        """Count a hit and mark the entry used; ``repaired`` (hash to bytes read from disk)
        replaces stored copies found damaged, and an entry whose file could not be repaired
        (``None``) is dropped instead."""

        def write(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                if repaired is None:
                    _delete_entries(conn, "id = ?", (entry.id,))
                    return
                for digest, data in repaired.items():
                    _replace_blob(conn, entry.id, digest, data)
                _touch(conn, entry, self.clock(), refreshed=False)

        self._run(write)

    @contextlib.contextmanager
    def writer(self) -> Iterator[CacheWriter]:
        """A writer for one pack, on its own connection (see ``CacheWriter``)."""
        with self._connection() as conn:
            # No fsync for what a pack stores: a crash may lose the newest entries, and any
            # damage is caught by the hash checks and rebuilt; what a cache holds can be
            # made again, a packing call should not wait on the disk for it.
            conn.execute("PRAGMA synchronous=OFF")
            yield CacheWriter(self, conn)


def _replace_blob(conn: sqlite3.Connection, entry_id: str, digest: str, data: bytes) -> None:
    """Put ``data`` back as the blob ``digest`` (under its old id when it still has a row)
    and point the entry's file rows at it. Delete, then insert: a REPLACE would fire no
    delete trigger, and the size kept by the triggers would drift."""
    row = conn.execute("SELECT id FROM blobs WHERE hash = ?", (digest,)).fetchone()
    conn.execute("DELETE FROM blobs WHERE hash = ?", (digest,))
    cursor = conn.execute(
        "INSERT INTO blobs (id, hash, size, data) VALUES (?, ?, ?, ?)",
        (None if row is None else row[0], digest, len(data), data),
    )
    conn.execute(
        "UPDATE entry_files SET blob = ? WHERE entry_id = ? AND hash = ?",
        (cursor.lastrowid, entry_id, digest),
    )


class _Retry(CacheUnavailable):
    """The database was rebuilt: run the action again on the new one."""


class CacheWriter:
    """Adds the blobs of one pack and finally its entry.

    Blobs are written in short transactions of a few megabytes, never while the pack is
    being written to its reader: a process blocked on a full pipe holds no lock. A database
    error (another process holding the lock too long, a disk error) does not stop the pack:
    the writer records it in ``error`` and stores nothing more.
    """

    def __init__(self, store: CacheStore, conn: sqlite3.Connection) -> None:
        self.store = store
        self.conn = conn
        self.error: str | None = None
        self.pending: list[tuple[str, bytes]] = []
        self.pending_bytes = 0
        self.ids: dict[str, int] = {}  # each blob's id, by hash, once written or read

    def _guarded(self, action: Callable[[], Any], write: bool = True) -> Any:
        if self.error is not None:
            return None
        try:
            with decoding():
                if not write:
                    return action()
                with _transaction(self.conn):
                    return action()
        except sqlite3.Error as error:
            self.error = str(error)
            return None

    def read_blob(self, digest: str, blob: int | None = None) -> bytes | None:
        """A stored file's bytes, by its blob's id when known (else by hash); None when
        missing, or damaged (then it is dropped)."""

        def read() -> bytes | None:
            row = None
            if blob is not None:  # by id, when that row still holds this hash
                row = self.conn.execute(
                    "SELECT id, data FROM blobs WHERE id = ? AND hash = ?", (blob, digest)
                ).fetchone()
            if row is None:
                row = self.conn.execute(
                    "SELECT id, data FROM blobs WHERE hash = ?", (digest,)
                ).fetchone()
            if row is None or not isinstance(row[1], bytes) or type(row[0]) is not int:
                return None
            self.ids[digest] = row[0]
            return row[1]

        data: bytes | None = self._guarded(read, write=False)
        if data is None or hashlib.sha256(data).hexdigest() == digest:
            return data
        self.ids.pop(digest, None)

        def drop() -> None:
            self.conn.execute("DELETE FROM blobs WHERE hash = ?", (digest,))

        self._guarded(drop)
        self.store._damaged_blob("a file")
        return None

    def put_blob(self, digest: str, data: bytes) -> None:
        self.pending.append((digest, data))
        self.pending_bytes += len(data)
        if self.pending_bytes >= FLUSH_BYTES:
            self._guarded(self._flush)

    def _flush(self) -> None:
        """Write the pending blobs, noting each one's id (a blob already stored keeps its
        own)."""
        cursor, ids = self.conn.cursor(), self.ids
        for digest, data in self.pending:
            if digest in ids:
                continue
            cursor.execute(
                "INSERT OR IGNORE INTO blobs (hash, size, data) VALUES (?, ?, ?)",
                (digest, len(data), data),
            )
            if cursor.rowcount == 1 and cursor.lastrowid is not None:
                ids[digest] = cursor.lastrowid
            else:
                ids[digest] = cursor.execute(
                    "SELECT id FROM blobs WHERE hash = ?", (digest,)
                ).fetchone()[0]
        self.pending.clear()
        self.pending_bytes = 0

    def record_hit(self, entry: StoredEntry) -> bool:
        """The pack came out identical to the stored one: count a hit, refresh its stats."""

        def touch() -> None:
            self._flush()
            _touch(self.conn, entry, self.store.clock(), refreshed=True)

        self._guarded(touch)
        return self.error is None

    def finish(self, entry: StoredEntry, save_tokens: dict[str, int], model: str) -> bool:
        """Store the entry, its last file blobs and new token counts, replacing the key's old
        entry and evicting to the size limit, in one transaction.

        False (and nothing stored) when the entry alone is larger than the limit or the
        database failed (see ``error``).
        """

        def store() -> bool:
            self._flush()
            self.conn.executemany(
                "INSERT OR REPLACE INTO token_counts (hash, model, tokens) VALUES (?, ?, ?)",
                [(digest, model, tokens) for digest, tokens in save_tokens.items()],
            )
            return self._insert(entry)

        return bool(self._guarded(store)) and self.error is None

    def _insert(self, entry: StoredEntry) -> bool:
        conn = self.conn
        _bump(conn, "misses")
        _delete_entries(conn, "key = ? OR id = ?", (entry.key, entry.id), collect=False)
        conn.execute(
            "INSERT INTO entries (id, key, root, patterns, pack_hash, files, bytes, tokens, "
            "created, accessed, expires, packed_ns, skipped, warnings, watch, excluded, limits) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.id, entry.key, entry.root, json.dumps(entry.patterns), entry.pack_hash,
                sum(1 for item in entry.files if item.reason is None), entry.bytes,
                entry.tokens, entry.created, self.store.clock(), entry.expires,
                entry.packed_ns, json.dumps(entry.skipped), json.dumps(entry.warnings),
                json.dumps(entry.watch), json.dumps(entry.excluded),
                json.dumps({"leftOut": entry.left_out, "rule": entry.rule}),
            ),
        )  # fmt: skip
        ids = self.ids
        conn.executemany(
            "INSERT INTO entry_files (entry_id, pos, path, size, mtime_ns, ino, hash, tokens, "
            "reason, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (  # one row at a time: no second list of 100,000 rows beside the entry's files
                (entry.id, pos, f.path, f.size, f.mtime_ns, f.ino, f.hash, f.tokens, f.reason,
                 None if f.hash is None else ids.get(f.hash, f.blob))
                for pos, f in enumerate(entry.files)
            ),
        )  # fmt: skip
        _collect_blobs(conn)  # the replaced entry's files that this one does not hold
        own = sum({f.hash: f.size for f in entry.files if f.hash is not None}.values())
        if own > self.store.max_bytes:
            _delete_entries(conn, "id = ?", (entry.id,))
            return False
        if _total_bytes(conn) > self.store.max_bytes:
            _collect_orphans(conn)  # blobs no entry holds go before any entry does
        while _total_bytes(conn) > self.store.max_bytes:
            oldest = conn.execute(
                "SELECT id FROM entries WHERE id != ? ORDER BY accessed, created LIMIT 1",
                (entry.id,),
            ).fetchone()
            if oldest is None:
                break
            _delete_entries(conn, "id = ?", (oldest[0],))
        return True


def _transaction(conn: sqlite3.Connection) -> contextlib.AbstractContextManager[Any]:
    @contextlib.contextmanager
    def scope() -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            _rollback(conn)
            raise
        conn.execute("COMMIT")

    return scope()


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back what is open; SQLite has already rolled back after errors such as a full
    disk, and a second ROLLBACK would hide the first error."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _is_pair_of_text(item: Any) -> bool:
    return isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item)


def _is_fingerprint(item: Any) -> bool:
    """A watched path's stored stat: None, or [mtime_ns, size, inode]."""
    return item is None or (
        isinstance(item, list) and len(item) == 3 and all(type(v) is int for v in item)
    )


_ENTRY_KINDS = (
    str, str, str, str, str, int, int, _NUMBER, _NUMBER, int, str, str, str, str, str
)  # fmt: skip
# The file rows of an entry whose values do not have the types written (checked in SQL, so
# that a hit builds no checking code per row).
_MISTYPED_FILES = (
    "SELECT COUNT(*) FROM entry_files WHERE entry_id = ? AND NOT ("
    "typeof(path) = 'text' AND typeof(size) = 'integer' AND typeof(mtime_ns) = 'integer' "
    "AND typeof(ino) = 'integer' AND typeof(hash) IN ('text', 'null') "
    "AND typeof(tokens) = 'integer' AND typeof(reason) IN ('text', 'null') "
    "AND typeof(blob) IN ('integer', 'null'))"
)
# The packed files of an entry with their stored bytes (NULL when the blob is missing).
_PACKED_BLOBS = (
    "SELECT f.path, f.hash, b.data FROM entry_files AS f LEFT JOIN blobs AS b ON b.id = f.blob "
    "WHERE f.entry_id = ? AND f.reason IS NULL ORDER BY f.pos"
)


def _touch(conn: sqlite3.Connection, entry: StoredEntry, now: float, refreshed: bool) -> None:
    """A hit: count it, mark the entry used; ``refreshed`` also rewrites the stored stats."""
    _bump(conn, "hits")
    conn.execute(
        "UPDATE entries SET accessed = ?, packed_ns = ?, watch = ? WHERE id = ?",
        (now, entry.packed_ns, json.dumps(entry.watch), entry.id),
    )
    if refreshed:
        conn.executemany(
            "UPDATE entry_files SET size = ?, mtime_ns = ?, ino = ? WHERE entry_id = ? AND pos = ?",
            ((f.size, f.mtime_ns, f.ino, entry.id, pos) for pos, f in enumerate(entry.files)),
        )


def _bump(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(
        "INSERT INTO counters (name, value) VALUES (?, 1) "
        "ON CONFLICT(name) DO UPDATE SET value = value + 1",
        (name,),
    )


def _delete_entries(
    conn: sqlite3.Connection, where: str, params: tuple[Any, ...], collect: bool = True
) -> int:
    """Delete entries and their file rows; their blobs' ids are noted in ``temp.gone``
    and, with ``collect``, dropped where no other entry holds them."""
    ids = [row[0] for row in conn.execute(f"SELECT id FROM entries WHERE {where}", params)]
    if ids:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS gone (blob INTEGER PRIMARY KEY)")
    for entry_id in ids:
        conn.execute(
            "INSERT OR IGNORE INTO temp.gone SELECT blob FROM entry_files "
            "WHERE entry_id = ? AND blob IS NOT NULL",
            (entry_id,),
        )
        conn.execute("DELETE FROM entry_files WHERE entry_id = ?", (entry_id,))
        conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
    if ids and collect:
        _collect_blobs(conn)
    return len(ids)


def _collect_blobs(conn: sqlite3.Connection) -> None:
    """Drop the blobs of deleted entries (``temp.gone``) that no entry holds any more: only
    those are looked at, never the whole table."""
    exists = conn.execute(
        "SELECT 1 FROM temp.sqlite_master WHERE type = 'table' AND name = 'gone'"
    ).fetchone()
    if exists is None:
        return
    conn.execute(
        "DELETE FROM blobs WHERE id IN (SELECT blob FROM temp.gone) AND NOT EXISTS "
        "(SELECT 1 FROM entry_files WHERE entry_files.blob = blobs.id)"
    )
    conn.execute("DELETE FROM temp.gone")


def _collect_orphans(conn: sqlite3.Connection) -> None:
    """Drop every blob no entry refers to (what a store stopped midway left behind): a
    pass over the blobs' index, for ``clear`` and before eviction drops an entry."""
    conn.execute(
        "DELETE FROM blobs WHERE id NOT IN (SELECT blob FROM entry_files WHERE blob IS NOT NULL)"
    )


def _recount(conn: sqlite3.Connection) -> int:
    """Count the blobs' total size afresh into its counter."""
    total = int(conn.execute("SELECT COALESCE(SUM(size), 0) FROM blobs").fetchone()[0])
    conn.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (BLOB_BYTES, total),
    )
    return total


def _total_bytes(conn: sqlite3.Connection) -> int:
    """The blobs' total size, from its counter (counted afresh if the row is missing)."""
    row = conn.execute("SELECT value FROM counters WHERE name = ?", (BLOB_BYTES,)).fetchone()
    if row is None or type(row[0]) is not int or row[0] < 0:
        return _recount(conn)
    return int(row[0])


def _iso(stamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
