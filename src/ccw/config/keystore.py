"""``ccw keys``: API keys kept in the user data folder, out of every project and repository.

A ``${NAME}`` reference resolves from the environment first, then from this store. The file
(``keys.json``, mode 0600 in a 0700 folder) is written atomically under a lock; a value is
read only in memory when a reference needs it and never enters ``os.environ``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ccw.config.secrets import ENV_NAME
from ccw.errors import BusyError, ConfigError, UsageError
from ccw.paths import keys_path

LOCK_TIMEOUT_S = 10.0
VERSION = 1


def check_name(name: str) -> str:
    if not ENV_NAME.match(name):
        raise UsageError(
            f"not a key name: {name!r}",
            "use letters, digits and _ (not starting with a digit), e.g. ANTHROPIC_API_KEY",
        )
    return name


class KeyStore:
    """Named secrets in one JSON file; reads are cached by the file's (mtime, size, inode)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or keys_path()
        self._cached: tuple[tuple[int, int, int], dict[str, str]] | None = None
        self._guard = threading.Lock()

    def load(self) -> dict[str, str]:
        """Every stored key by name (a copy)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"cannot read the key store {self.path}: {exc.strerror}") from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._guard:
            if self._cached and self._cached[0] == stamp:
                return dict(self._cached[1])
        keys = self._parse()
        with self._guard:
            self._cached = (stamp, keys)
        return dict(keys)

    def _parse(self) -> dict[str, str]:
        fix = f"fix {self.path} by hand, or move it aside and store the keys again (ccw keys set)"
        try:
            raw: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            # The parser's message quotes no content: a key never reaches an error line.
            reason = exc.strerror if isinstance(exc, OSError) else type(exc).__name__
            raise ConfigError(f"the key store {self.path} is unreadable ({reason})", fix) from None
        keys = raw.get("keys") if isinstance(raw, dict) else None
        if not isinstance(keys, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in keys.items()
        ):
            raise ConfigError(f"the key store {self.path} is not a ccw key store", fix)
        return dict(keys)

    def get(self, name: str) -> str | None:
        return self.load().get(name)

    def set(self, name: str, value: str) -> None:
        check_name(name)
        if not value or value != value.strip() or "\n" in value:
            raise UsageError(
                "the key is empty or has spaces or line breaks around it",
                'paste the key alone, e.g. printf %s "$KEY" | ccw keys set NAME',
            )
        with self._edit() as keys:
            keys[name] = value

    def remove(self, name: str) -> bool:
        with self._edit() as keys:
            return keys.pop(name, None) is not None

    @contextlib.contextmanager
    def _edit(self) -> Iterator[dict[str, str]]:
        from filelock import FileLock, Timeout

        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = FileLock(str(self.path.with_name(self.path.name + ".lock")), timeout=LOCK_TIMEOUT_S)
        try:
            with lock:
                keys = self.load()
                yield keys
                self._write(keys)
        except Timeout:
            raise BusyError(
                f"the key store {self.path} is locked by another ccw process",
                "wait a moment and retry",
                retry_after=2,
            ) from None

    def _write(self, keys: dict[str, str]) -> None:
        text = json.dumps({"version": VERSION, "keys": dict(sorted(keys.items()))}, indent=2)
        fd, tmp = tempfile.mkstemp(prefix=".keys.", suffix=".tmp", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def stored_key(name: str) -> str | None:
    """The stored value of ``name`` (``None`` when absent); the store of the user data
    folder as it is now (``CCW_DATA_DIR`` honoured)."""
    return KeyStore().get(name)
