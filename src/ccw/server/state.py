"""What every request shares: the config layers, the project root, the cache and history."""

from __future__ import annotations

import bisect
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request

from ccw.config.layers import LayeredConfig
from ccw.config.schema import Config
from ccw.config.store import ConfigStore
from ccw.server.db_watch import DatabaseWatch


def _open_history() -> Any:
    from ccw.history import open_history

    return open_history()


@dataclass
class ServerState:
    """``store`` is the project's file (or the one file chosen alone); ``layers`` reads the
    user's file beneath it, as the CLI does, and picks the file an edit writes."""

    store: ConfigStore
    project_root: Path
    listen: str = ""
    open_history: Callable[[], Any] = field(default=_open_history)
    layers: LayeredConfig = field(init=False)
    _guard: threading.Lock = field(init=False, default_factory=threading.Lock)
    _config: tuple[str, Config] | None = field(init=False, default=None)
    _stats: tuple[tuple[Any, ...], dict[str, Any], list[float]] | None = field(
        init=False, default=None
    )
    _watch: DatabaseWatch = field(init=False, default_factory=DatabaseWatch)

    def __post_init__(self) -> None:
        self.layers = LayeredConfig.for_file(self.store)

    def config(self) -> Config:
        """The merged config (user file beneath the project's), marked with provenance.

        Shared and read-only: parsed again only when a config file changes (a request
        costs a stat per file, not a parse and a deep copy). Edits go through a
        ``ConfigStore`` (``manage``), never through this object."""
        stamp = self.config_stamp()
        with self._guard:
            if self._config is not None and self._config[0] == stamp:
                return self._config[1]
        config = self.layers.load()
        with self._guard:
            self._config = (stamp, config)
        return config

    def cache(self, config: Config | None = None) -> Any:
        """The context cache the CLI uses for this project, with the current settings."""
        from ccw.context.api import open_cache

        return open_cache(config or self.config(), self.project_root)

    def cache_stats(self) -> dict[str, Any]:
        """The cache's stats, read from the database only when it changed
        (``cache_token``): a request does not sum the blobs, however large the cache.
        ``expired`` is counted from the entries' expiry times kept beside them."""
        store = self.cache()
        stamp = (str(store.path), store.max_bytes, store.enabled, *self.cache_token(store.path))
        with self._guard:
            cached = self._stats if self._stats and self._stats[0] == stamp else None
        if cached is None:
            stats = dict(store.stats())
            expiries = sorted(_epoch(e["expiresAt"]) for e in store.entries())
            cached = (stamp, stats, expiries)
            with self._guard:
                self._stats = cached
        _, stats, expiries = cached
        return {**stats, "expired": bisect.bisect_right(expiries, store.clock())}

    def cache_token(self, database: Path) -> tuple[int, ...]:
        """Changes whenever the cache database changes (``ccw.server.db_watch``)."""
        return self._watch.token(Path(database))

    def config_stamp(self) -> str:
        """Changes when any config file read changes (the page polls it)."""
        stamps = []
        for layer in self.layers.layers:
            try:
                st = layer.store.path.stat()
            except OSError:
                stamps.append("absent")
                continue
            stamps.append(f"{st.st_mtime_ns}-{st.st_size}-{st.st_ino}")
        return (
            stamps[0]
            if len(stamps) == 1
            else hashlib.sha1("|".join(stamps).encode()).hexdigest()[:16]
        )

    def cache_stamp(self) -> str:
        stats = self.cache_stats()
        text = json.dumps(stats, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def _epoch(value: Any) -> float:
    return datetime.fromisoformat(str(value)).timestamp() if value else 0.0


async def state(request: Request) -> ServerState:
    """FastAPI dependency: the app's shared state (async: FastAPI runs a plain function
    dependency in a worker thread, two thread hops per request for a dictionary read)."""
    found: ServerState = request.app.state.ccw
    return found
