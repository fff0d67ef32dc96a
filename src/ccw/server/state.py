"""What every request shares: one config store, the project root, the cache and history."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request

from ccw.config.schema import Config
from ccw.config.store import ConfigStore


def _open_history() -> Any:
    from ccw.history import open_history

    return open_history()


@dataclass
class ServerState:
    store: ConfigStore
    project_root: Path
    listen: str = ""
    open_history: Callable[[], Any] = field(default=_open_history)

    def config(self) -> Config:
        return self.store.load()

    def cache(self, config: Config | None = None) -> Any:
        """The context cache the CLI uses for this project, with the current settings."""
        from ccw.context.api import open_cache

        return open_cache(config or self.config(), self.project_root)

    def config_stamp(self) -> str:
        try:
            st = self.store.path.stat()
        except OSError:
            return "absent"
        return f"{st.st_mtime_ns}-{st.st_size}-{st.st_ino}"

    def cache_stamp(self) -> str:
        stats = self.cache().stats()
        text = json.dumps(stats, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def state(request: Request) -> ServerState:
    """FastAPI dependency: the app's shared state."""
    found: ServerState = request.app.state.ccw
    return found
