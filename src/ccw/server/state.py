"""What every request shares: the config layers, the project root, the cache and history."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request

from ccw.config.layers import LayeredConfig
from ccw.config.schema import Config
from ccw.config.store import ConfigStore


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

    def __post_init__(self) -> None:
        self.layers = LayeredConfig.for_file(self.store)

    def config(self) -> Config:
        """The merged config (user file beneath the project's), marked with provenance."""
        return self.layers.load()

    def cache(self, config: Config | None = None) -> Any:
        """The context cache the CLI uses for this project, with the current settings."""
        from ccw.context.api import open_cache

        return open_cache(config or self.config(), self.project_root)

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
        stats = self.cache().stats()
        text = json.dumps(stats, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def state(request: Request) -> ServerState:
    """FastAPI dependency: the app's shared state."""
    found: ServerState = request.app.state.ccw
    return found
