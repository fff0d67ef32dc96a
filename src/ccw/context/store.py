"""The persistent context cache: one SQLite database (WAL) shared by every ccw process.

An entry ties a key (patterns, root and packing options) to its pack's text, stored in
chunks of 1 MiB, and to its files with the stat fingerprints they had and those of the
folders and ignore files that decided the listing (``manifest``). A later call that finds
every stat unchanged writes the stored chunks out as they are: a hit costs the stat calls
and one sequential read, whatever the number of files. A call that finds some files changed
takes the unchanged ones' bytes from the old pack text (each file's offset is kept) and
reads only the others. Entries expire by TTL; the total size of the chunks stays under
``maxTotalSizeMB`` by evicting the least recently used entries.

What is read is checked: a chunk must hash to its stored SHA-256 before any byte of it is
served or reused, and every row must decode to the types written. Damage of any kind moves
the database aside (``context.db.corrupt``) and starts a new one, or, for a chunk alone,
drops its entry so that the pack is made again from the files. A database that cannot be
used just now (locked, disk full, an I/O or permission error, a folder that cannot be made)
is left as it is and reported with ``CacheUnavailable``, so that callers go on without the
cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccw.context.manifest import Manifest, Watched
from ccw.context.request import ByteSink
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
PACK_BYTES = "pack_bytes"  # the counter of the chunks' total size
BUSY_TIMEOUT_MS = 5000
# A pack still being written after this long was left by a process that stopped: its chunks
# are orphans like any other.
OPEN_PACK_S = 3600
CHUNK_BYTES = 1 << 20  # a stored pack's text, in pieces of this size
FLUSH_BYTES = 4 << 20  # chunks written per transaction while a pack is made
# Large pages for a database of large blobs: a chunk is read and written through 16 pages
# instead of 256 (2-3 times faster both ways, measured), in a new cache.
PAGE_BYTES = 64 << 10

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


def _create_tables(conn: sqlite3.Connection) -> None:
    run_script(conn, _TABLES)


def _nothing(conn: sqlite3.Connection) -> None:
    """A step of an older layout, superseded by ``_packs_as_text`` (which drops its tables)."""


_PACKS_AS_TEXT = """
DROP TABLE IF EXISTS entry_files;
DROP TABLE IF EXISTS blobs;
DROP TABLE IF EXISTS entries;
DELETE FROM counters WHERE name = 'blob_bytes';
CREATE TABLE entries (
    id TEXT PRIMARY KEY, key TEXT NOT NULL UNIQUE, root TEXT NOT NULL, patterns TEXT NOT NULL,
    pack_hash TEXT NOT NULL, pack INTEGER NOT NULL UNIQUE, files INTEGER NOT NULL,
    bytes INTEGER NOT NULL, tokens INTEGER NOT NULL, created REAL NOT NULL,
    accessed REAL NOT NULL, expires REAL NOT NULL, packed_ns INTEGER NOT NULL,
    skipped TEXT NOT NULL, warnings TEXT NOT NULL, excluded TEXT NOT NULL,
    limits TEXT NOT NULL, paths BLOB NOT NULL, numbers BLOB NOT NULL, reasons TEXT NOT NULL,
    watch_paths BLOB NOT NULL, watch_numbers BLOB NOT NULL);
CREATE TABLE chunks (
    pack INTEGER NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL,
    data BLOB NOT NULL, PRIMARY KEY (pack, seq));
CREATE TABLE packs_open (pack INTEGER PRIMARY KEY, started REAL NOT NULL);
INSERT OR REPLACE INTO counters (name, value) VALUES ('pack_bytes', 0);
CREATE TRIGGER chunks_added AFTER INSERT ON chunks BEGIN
    UPDATE counters SET value = value + NEW.size WHERE name = 'pack_bytes'; END;
CREATE TRIGGER chunks_removed AFTER DELETE ON chunks BEGIN
    UPDATE counters SET value = value - OLD.size WHERE name = 'pack_bytes'; END;
"""


def _packs_as_text(conn: sqlite3.Connection) -> None:
    """Packs are stored as their text, in chunks, and an entry's files as three columns
    (a hit writes the chunks out after the stat check, with no work per file). Entries of
    the older layout (a blob per file, a row per file) are dropped: a cache is made again
    on use, and the freed pages go back to the disk."""
    run_script(conn, _PACKS_AS_TEXT)
    _give_back_free_pages(conn)


def _larger_pages(conn: sqlite3.Connection) -> None:
    """Give an empty cache made with smaller pages (by an older ccw) the large ones. A page
    size changes only outside WAL, by a VACUUM, so this is tried only while the cache is
    empty and no other process has it open (without waiting for one); otherwise the cache
    keeps its pages, and works the same, only slower."""
    if conn.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is not None:
        return
    (timeout,) = conn.execute("PRAGMA busy_timeout").fetchone()
    conn.execute("PRAGMA busy_timeout=0")
    try:
        if conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete":
            conn.execute(f"PRAGMA page_size={PAGE_BYTES}")
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("VACUUM")
    except sqlite3.OperationalError:
        pass  # another process has it open: next time
    finally:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={int(timeout)}")


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


# In order; the first two are schemas 1 and 2 of the ``PRAGMA user_version`` days. Steps of
# a layout that a later step replaces do nothing now, but keep their place and name.
MIGRATIONS = (
    Migration("create blobs, entries and counters", _create_tables),
    Migration("entries keep their policy counts", _add_excluded),
    Migration("entries keep what limits left out", _add_limits),
    Migration("packs are rebuilt from their files", _nothing),
    Migration("the blobs' total size is counted", _nothing),
    Migration("file rows point at their blobs by id", _nothing),
    Migration("packs are stored as their text", _packs_as_text),
)


class PackDamaged(Exception):
    """A stored pack could not be served whole: a chunk is missing or does not hash to its
    name. ``written`` bytes had reached the sink already."""

    def __init__(self, written: int) -> None:
        super().__init__(written)
        self.written = written


class CacheUnavailable(CcwError):
    """The cache database is locked by another process or cannot be opened."""

    kind = "cache_unavailable"


def _no_files() -> Manifest:
    return Manifest.of([])


def _no_folders() -> Watched:
    return Watched.of({})


@dataclass
class StoredEntry:
    id: str
    key: str
    root: str
    patterns: list[str]
    pack_hash: str  # the pack's identity: SHA-256 over the hashes of its text's chunks
    bytes: int
    tokens: int
    created: float
    expires: float
    packed_ns: int
    manifest: Manifest = field(default_factory=_no_files)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    watch: Watched = field(default_factory=_no_folders)
    excluded: dict[str, int] = field(default_factory=dict)  # files left out by policy, by reason
    left_out: dict[str, int] = field(default_factory=dict)  # files a limit never looked at
    rule: str | None = None  # the rule that chose the files of a cut pack
    pack: int = 0  # the id of its text's chunks


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
        conn = open_database(
            self.path, MIGRATIONS, busy_timeout_s=BUSY_TIMEOUT_MS / 1000, page_size=PAGE_BYTES
        )
        if conn.execute("PRAGMA page_size").fetchone()[0] != PAGE_BYTES:
            _larger_pages(conn)
        return conn

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
            total = counters.get(PACK_BYTES)
            if total is None:
                total = _recount(conn)
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
            columns = conn.execute(
                "SELECT paths, numbers, reasons FROM entries WHERE id = ?", (entry_id,)
            ).fetchone()
            described["fileList"] = [
                {"path": path, "size": size, "tokens": tokens}
                for path, size, tokens in Manifest.decode(*columns).packed()
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
                "packed_ns, skipped, warnings, excluded, limits, pack, paths, numbers, reasons, "
                "watch_paths, watch_numbers FROM entries WHERE key = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            manifest = Manifest.decode(*row[15:18])
            watch = Watched.decode(*row[18:])
            row = _typed(row[:15], *_ENTRY_KINDS)
            patterns, skipped = _decoded(row[3], list), _decoded(row[10], list)
            warnings = _decoded(row[11], list)
            excluded, limits = _decoded(row[12], dict), _decoded(row[13], dict)
            left_out, rule = limits.get("leftOut", {}), limits.get("rule")
            if not (
                all(isinstance(item, str) for item in [*patterns, *warnings])
                and all(_is_pair_of_text(item) for item in skipped)
                and all(type(count) is int for count in excluded.values())
                and isinstance(left_out, dict)
                and all(type(count) is int for count in left_out.values())
                and (rule is None or isinstance(rule, str))
            ):
                raise DamagedError("a row of the context cache holds JSON of the wrong shape")
            return StoredEntry(
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
                manifest=manifest,
                skipped=[(path, reason) for path, reason in skipped],
                warnings=warnings,
                watch=watch,
                excluded=excluded,
                left_out=left_out,
                rule=rule,
                pack=row[14],
            )

        result: StoredEntry | None = self._run(read)
        return result

    def replay(self, entry: StoredEntry, out: ByteSink) -> None:
        """Write the stored pack of ``entry`` to ``out``, chunk by chunk, each checked
        against its hash before any of its bytes is written, in one read transaction.
        ``PackDamaged`` when a chunk is missing or damaged (the caller drops the entry)."""
        written = 0

        def read(conn: sqlite3.Connection) -> None:
            nonlocal written
            sha256 = hashlib.sha256
            conn.execute("BEGIN")
            try:
                rows = conn.execute(
                    "SELECT seq, hash, data FROM chunks WHERE pack = ? ORDER BY seq",
                    (entry.pack,),
                )
                for seq, digest, data in rows:
                    if (
                        seq != written // CHUNK_BYTES
                        or not isinstance(data, bytes)
                        or sha256(data).hexdigest() != digest
                    ):
                        raise PackDamaged(written)
                    out.write(data)
                    written += len(data)
                if written != entry.bytes:
                    raise PackDamaged(written)
            finally:
                _rollback(conn)

        try:
            self._run(read)
        except PackDamaged:
            self._damaged_pack()
            raise

    def _damaged_pack(self) -> None:
        warning = (
            f"the context cache at {self.path} held a damaged stored pack (its bytes no longer "
            "match their hash); it was dropped and packed afresh"
        )
        if warning not in self.warnings:
            self.warnings.append(warning)

    def token_counts(self, model: str) -> dict[str, int]:
        def read(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute("SELECT hash, tokens FROM token_counts WHERE model = ?", (model,))
            return dict(_typed(row, str, int) for row in rows.fetchall())

        return dict(self._run(read))

    def record_hit(self, entry: StoredEntry) -> None:
        """Count a hit and mark the entry used."""

        def write(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                _touch(conn, entry, self.clock())

        self._run(write)

    def drop(self, entry: StoredEntry) -> None:
        """Delete an entry whose stored pack was found damaged."""

        def write(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                _delete_entries(conn, "id = ?", (entry.id,))

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


class _Retry(CacheUnavailable):
    """The database was rebuilt: run the action again on the new one."""


class CacheWriter:
    """Stores one pack: its text as it is written (``write``), then its entry (``finish``).

    The text is cut into chunks of ``CHUNK_BYTES``, each named by its SHA-256, and written
    in short transactions of a few megabytes, never while the pack is being written to its
    reader: a process blocked on a full pipe holds no lock. The chunks of an older pack of
    the same key can be read back meanwhile (``read_range``) for the files that did not
    change. A database error (another process holding the lock too long, a disk error)
    does not stop the pack: the writer records it in ``error`` and stores nothing more.
    """

    def __init__(self, store: CacheStore, conn: sqlite3.Connection) -> None:
        self.store = store
        self.conn = conn
        self.error: str | None = None
        self.pack = int.from_bytes(os.urandom(8), "big") >> 1  # the new chunks' group
        self.size = 0  # bytes of text taken so far
        self._pieces: list[bytes] = []
        self._gathered = 0
        self._opened = False  # marked in ``packs_open``
        self._pending: list[tuple[int, str, memoryview]] = []
        self._pending_bytes = 0
        self._hashes: list[str] = []
        self._chunk: tuple[int, int, bytes] | None = None  # the last chunk read back, checked
        self._checked: set[tuple[int, int]] = set()  # chunks read back and checked

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

    def write(self, data: bytes) -> None:
        """Take the next bytes of the pack's text (pieces are joined once per chunk, and
        chunks are views of the joined bytes: no byte is copied twice)."""
        self._pieces.append(data)
        self._gathered += len(data)
        self.size += len(data)
        if self._gathered >= CHUNK_BYTES:
            self._cut_full()
            if self._pending_bytes >= FLUSH_BYTES:
                self._guarded(self._flush)

    def _cut_full(self, last: bool = False) -> None:
        """Cut the gathered pieces into chunks; the tail that does not fill one stays
        gathered, unless this is the ``last`` cut."""
        joined = memoryview(self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces))
        whole = len(joined) if last else len(joined) - len(joined) % CHUNK_BYTES
        for start in range(0, whole, CHUNK_BYTES):
            chunk = joined[start : start + CHUNK_BYTES]
            digest = hashlib.sha256(chunk).hexdigest()
            self._pending.append((len(self._hashes), digest, chunk))
            self._hashes.append(digest)
            self._pending_bytes += len(chunk)
        rest = joined[whole:]
        self._pieces = [bytes(rest)] if rest else []
        self._gathered = len(rest)

    def _flush(self) -> None:
        """Write the pending chunks; the first flush also marks the pack as being written,
        so that no other process takes its chunks for orphans before its entry exists."""
        if not self._opened and self._pending:
            self.conn.execute(
                "INSERT OR REPLACE INTO packs_open (pack, started) VALUES (?, ?)",
                (self.pack, time.time()),
            )
            self._opened = True
        self.conn.executemany(
            "INSERT INTO chunks (pack, seq, hash, size, data) VALUES (?, ?, ?, ?, ?)",
            ((self.pack, seq, digest, len(data), data) for seq, digest, data in self._pending),
        )
        self._pending.clear()
        self._pending_bytes = 0

    def identity(self) -> str:
        """The pack's identity once all of it was written: SHA-256 over its chunks'
        hashes (the same text always gives the same identity)."""
        if self._pieces:
            self._cut_full(last=True)
        return hashlib.sha256("".join(self._hashes).encode()).hexdigest()

    def read_range(self, pack: int, offset: int, length: int) -> bytes | None:
        """``length`` bytes at ``offset`` of the stored pack ``pack``, from chunks that
        hash to their names; None when a chunk is missing or damaged."""
        parts: list[bytes] = []
        while length > 0:
            seq, start = divmod(offset, CHUNK_BYTES)
            part = self._read_part(pack, seq, start, length)
            if not part:
                return None
            parts.append(part)
            offset += len(part)
            length -= len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _read_part(self, pack: int, seq: int, start: int, length: int) -> bytes | None:
        """Bytes of one chunk from ``start``. A chunk is read whole and checked the first
        time (and kept while the next reads fall in it, as they do in pack order); one
        checked already is read in part (a pack's chunks are written once and never
        change), so files read out of pack order do not read a chunk again per file."""
        cached = self._chunk
        if cached is not None and cached[:2] == (pack, seq):
            return cached[2][start : start + length]
        if (pack, seq) in self._checked:

            def read() -> Any:
                return self.conn.execute(
                    "SELECT substr(data, ?, ?) FROM chunks WHERE pack = ? AND seq = ?",
                    (start + 1, length, pack, seq),
                ).fetchone()

            row = self._guarded(read, write=False)
            return row[0] if row is not None and isinstance(row[0], bytes) else None
        data = self._read_chunk(pack, seq)
        return None if data is None else data[start : start + length]

    def _read_chunk(self, pack: int, seq: int) -> bytes | None:
        def read() -> Any:
            return self.conn.execute(
                "SELECT hash, data FROM chunks WHERE pack = ? AND seq = ?", (pack, seq)
            ).fetchone()

        row = self._guarded(read, write=False)
        if row is None or not isinstance(row[1], bytes):
            return None
        if hashlib.sha256(row[1]).hexdigest() != row[0]:
            self.store._damaged_pack()
            return None
        self._chunk = (pack, seq, row[1])
        self._checked.add((pack, seq))
        return row[1]

    def finish(
        self, entry: StoredEntry, save_tokens: dict[str, int], model: str, hit: bool = False
    ) -> bool:
        """Store the entry, its last chunks and new token counts, replacing the key's old
        entry and evicting to the size limit, in one transaction (``hit``: the pack came out
        the same as the stored one, and counts as a hit).

        False (and nothing stored) when the entry alone is larger than the limit or the
        database failed (see ``error``).
        """
        self.identity()  # the last, partial chunk

        def store() -> bool:
            self._flush()
            self.conn.executemany(
                "INSERT OR REPLACE INTO token_counts (hash, model, tokens) VALUES (?, ?, ?)",
                [(digest, model, tokens) for digest, tokens in save_tokens.items()],
            )
            return self._insert(entry, hit)

        stored = bool(self._guarded(store)) and self.error is None
        if not stored:
            self._guarded(self._forget)
        return stored

    def _forget(self) -> None:
        """Drop the chunks written for a pack that was not stored."""
        self.conn.execute("DELETE FROM chunks WHERE pack = ?", (self.pack,))
        self.conn.execute("DELETE FROM packs_open WHERE pack = ?", (self.pack,))

    def _insert(self, entry: StoredEntry, hit: bool) -> bool:
        conn = self.conn
        if entry.bytes > self.store.max_bytes:
            return False
        conn.execute("DELETE FROM packs_open WHERE pack = ?", (self.pack,))
        (present,) = conn.execute(
            "SELECT COUNT(*) FROM chunks WHERE pack = ?", (self.pack,)
        ).fetchone()
        if present != len(self._hashes):  # a pack written for hours, taken for an orphan
            raise sqlite3.OperationalError("the pack's chunks were removed meanwhile")
        _bump(conn, "hits" if hit else "misses")
        _delete_entries(conn, "key = ? OR id = ?", (entry.key, entry.id))
        paths, numbers, reasons = entry.manifest.encode()
        watch_paths, watch_numbers = entry.watch.encode()
        files = len(entry.manifest) - len(entry.manifest.reasons)
        conn.execute(
            "INSERT INTO entries (id, key, root, patterns, pack_hash, pack, files, bytes, "
            "tokens, created, accessed, expires, packed_ns, skipped, warnings, excluded, "
            "limits, paths, numbers, reasons, watch_paths, watch_numbers) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.id, entry.key, entry.root, json.dumps(entry.patterns), entry.pack_hash,
                self.pack, files, entry.bytes, entry.tokens, entry.created, self.store.clock(),
                entry.expires, entry.packed_ns, json.dumps(entry.skipped),
                json.dumps(entry.warnings), json.dumps(entry.excluded),
                json.dumps({"leftOut": entry.left_out, "rule": entry.rule}), paths, numbers,
                reasons, watch_paths, watch_numbers,
            ),
        )  # fmt: skip
        entry.pack = self.pack
        if _total_bytes(conn) > self.store.max_bytes:
            _collect_orphans(conn)  # chunks no entry holds go before any entry does
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


_ENTRY_KINDS = (
    str, str, str, str, str, int, int, _NUMBER, _NUMBER, int, str, str, str, str, int
)  # fmt: skip


def _touch(conn: sqlite3.Connection, entry: StoredEntry, now: float) -> None:
    """A hit: count it, mark the entry used."""
    _bump(conn, "hits")
    conn.execute("UPDATE entries SET accessed = ? WHERE id = ?", (now, entry.id))


def _bump(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(
        "INSERT INTO counters (name, value) VALUES (?, 1) "
        "ON CONFLICT(name) DO UPDATE SET value = value + 1",
        (name,),
    )


def _delete_entries(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> int:
    """Delete entries and their chunks."""
    rows = conn.execute(f"SELECT id, pack FROM entries WHERE {where}", params).fetchall()
    for entry_id, pack in rows:
        conn.execute("DELETE FROM chunks WHERE pack = ?", (pack,))
        conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
    return len(rows)


def _collect_orphans(conn: sqlite3.Connection) -> None:
    """Drop every chunk no entry refers to and no live writer is writing (what a store
    stopped midway left behind): a pass over the chunks' index, for ``clear`` and before
    eviction drops an entry."""
    conn.execute("DELETE FROM packs_open WHERE started < ?", (time.time() - OPEN_PACK_S,))
    conn.execute(
        "DELETE FROM chunks WHERE pack NOT IN (SELECT pack FROM entries) "
        "AND pack NOT IN (SELECT pack FROM packs_open)"
    )


def _recount(conn: sqlite3.Connection) -> int:
    """Count the chunks' total size afresh into its counter."""
    total = int(conn.execute("SELECT COALESCE(SUM(size), 0) FROM chunks").fetchone()[0])
    conn.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (PACK_BYTES, total),
    )
    return total


def _total_bytes(conn: sqlite3.Connection) -> int:
    """The chunks' total size, from its counter (counted afresh if the row is missing)."""
    row = conn.execute("SELECT value FROM counters WHERE name = ?", (PACK_BYTES,)).fetchone()
    if row is None or type(row[0]) is not int or row[0] < 0:
        return _recount(conn)
    return int(row[0])


def _iso(stamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
