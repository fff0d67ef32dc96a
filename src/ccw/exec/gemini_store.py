"""Where the names of Gemini cached contents are kept: one small SQLite file beside the
context cache (``gemini-cache.db`` in ``globalCacheSettings.cacheDir``).

A row ties one local pack (its context-cache entry id) sent to one provider, API base and
model, with one system prompt, to the ``cachedContents/...`` name that holds it remotely and
that name's expiry. It never holds a key, a hash of a key, or the pack itself. The system
prompt and the API base are kept only as SHA-256s: enough to tell them apart, and an API
base resolved from a ``${VAR}`` (which may carry a token) is never written.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from ccw.errors import CcwError
from ccw.sqlite import Migration, is_damage, move_aside, open_database

DB_NAME = "gemini-cache.db"
BUSY_TIMEOUT_S = 5.0


def _create(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE cached_contents ("
        "pack_key TEXT NOT NULL, provider_id TEXT NOT NULL, base_digest TEXT NOT NULL, "
        "model TEXT NOT NULL, system_digest TEXT NOT NULL, name TEXT NOT NULL, "
        "expires REAL NOT NULL, tokens INTEGER NOT NULL, "
        "PRIMARY KEY (pack_key, provider_id, base_digest, model, system_digest))"
    )


MIGRATIONS = (Migration("create cached_contents", _create),)


class GeminiStoreUnavailable(CcwError):
    """The file of cached-content names cannot be used now (locked, full, unwritable)."""

    kind = "cache_unavailable"


class Slot(NamedTuple):
    """What a cached content stands for: a pack sent to one provider's model."""

    pack_key: str  # the context cache entry id (``ctx-...``)
    provider_id: str
    base_digest: str
    model: str  # the model as the provider names it (``gemini-2.5-flash``)
    system_digest: str  # SHA-256 of the system prompt held with the pack ("" for none)


class Row(NamedTuple):
    slot: Slot
    name: str  # ``cachedContents/...``
    expires: float  # epoch seconds, as the provider answered
    tokens: int  # the cached content's size, as the provider counted it


class GeminiCacheStore:
    """The rows on disk; every method opens its own connection (safe across processes)."""

    def __init__(self, cache_dir: Path) -> None:
        self.path = Path(cache_dir) / DB_NAME
        self.warnings: list[str] = []
        self._held: sqlite3.Connection | None = None

    def exists(self) -> bool:
        """Whether any name was ever kept here (the cheap check before a sweep)."""
        return self.path.exists()

    @contextlib.contextmanager
    def held(self) -> Iterator[GeminiCacheStore]:
        """One connection for every method called inside the block (a call's sweep, lookup
        and update cost one open, not four)."""
        if self._held is not None:
            yield self
            return
        with self._connection() as conn:
            self._held = conn
            try:
                yield self
            finally:
                self._held = None

    @contextlib.contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        if self._held is not None:
            yield self._held
            return
        with self._connection() as conn:
            yield conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        for attempt in (1, 2):
            try:
                conn = open_database(self.path, MIGRATIONS, busy_timeout_s=BUSY_TIMEOUT_S)
            except OSError as error:
                raise GeminiStoreUnavailable(
                    f"{self.path} cannot be used: {error.strerror or error}"
                ) from None
            except (sqlite3.Error, UnicodeDecodeError) as error:
                if attempt == 2 or not is_damage(error):
                    raise GeminiStoreUnavailable(f"{self.path} cannot be used: {error}") from None
                self._move_aside(error)
                continue
            try:
                # No fsync: a row lost to a crash leaves a cached content that expires by its
                # TTL; a call should not wait on the disk for it.
                conn.execute("PRAGMA synchronous=OFF")
                yield conn
                return
            except sqlite3.Error as error:
                if not is_damage(error):
                    raise GeminiStoreUnavailable(f"{self.path} cannot be used: {error}") from None
                self._move_aside(error)
                raise GeminiStoreUnavailable(f"{self.path} was damaged and started anew") from None
            finally:
                conn.close()

    def _move_aside(self, error: BaseException) -> None:
        with contextlib.suppress(OSError):
            move_aside(self.path, self.path.with_name(DB_NAME + ".corrupt"))
        self.warnings.append(
            f"{self.path} was damaged ({error}); it was moved aside and started anew (cached "
            "contents it named expire on their own)"
        )

    def find(self, slot: Slot) -> Row | None:
        with self._use() as conn:
            found = conn.execute(
                "SELECT name, expires, tokens FROM cached_contents WHERE pack_key = ? AND "
                "provider_id = ? AND base_digest = ? AND model = ? AND system_digest = ?",
                tuple(slot),
            ).fetchone()
        if found is None or not _row_types(found):
            return None
        return Row(slot, found[0], float(found[1]), found[2])

    def save(self, row: Row) -> None:
        with self._use() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO cached_contents (pack_key, provider_id, base_digest, "
                "model, system_digest, name, expires, tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*row.slot, row.name, row.expires, row.tokens),
            )

    def forget(self, name: str) -> None:
        with self._use() as conn:
            conn.execute("DELETE FROM cached_contents WHERE name = ?", (name,))

    def rows(self) -> list[Row]:
        with self._use() as conn:
            found = conn.execute(
                "SELECT pack_key, provider_id, base_digest, model, system_digest, name, expires, "
                "tokens FROM cached_contents ORDER BY expires"
            ).fetchall()
        return [
            Row(Slot(*values[:5]), values[5], float(values[6]), values[7])
            for values in found
            if all(isinstance(v, str) for v in values[:6]) and _row_types(values[5:])
        ]


def _row_types(values: tuple[object, ...]) -> bool:
    """``(name, expires, tokens)`` as written; anything else is skipped, never trusted."""
    name, expires, tokens = values
    return isinstance(name, str) and isinstance(expires, int | float) and type(tokens) is int
