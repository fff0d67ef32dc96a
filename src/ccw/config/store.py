"""Load, validate and save the config file: atomic writes under a file lock, never clobbered.

A broken file is an error that names the file, the field and the fix; it is never
replaced by defaults. Reads are cached by (mtime, size, inode) so that a server
answering many requests parses the file only when it changed.
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

from pydantic import ValidationError

from ccw.config.schema import Config
from ccw.errors import BusyError, ConfigError
from ccw.paths import CONFIG_RELATIVE

LOCK_TIMEOUT_S = 10.0
RETRY_AFTER_S = 2
TMP_SUFFIX = ".tmp"
# ``.ccw/.gitignore``: everything under .ccw/ is local state (the lock file, caches, history)
# except the config itself, which a team may commit while it holds only ${...} references.
GITIGNORE = """\
# Written by ccw: only the config file is meant to be committed (keep keys out of it:
# ccw keys set NAME, then --api-key '${NAME}'). Everything else here is local state.
*
!.gitignore
!storage/
storage/*
!storage/config/
storage/config/*
!storage/config/litellm-api-config.json
"""


def _describe_validation(error: ValidationError) -> str:
    lines = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{where}: {item['msg']}")
    return "; ".join(lines)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object hook that refuses a key written twice: JSON would keep only the last one,
    and the next save would silently drop the first block."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def parse_config(text: str, source: str) -> Config:
    """Parse and validate config JSON; errors name ``source``, the field and the fix."""
    fix = f"edit {source} by hand (ccw never overwrites a broken file), or move it aside"
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark some editors write
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise ConfigError(
            f"{source} holds the key {exc.key!r} twice in one object; only one may stay",
            f"merge the two {exc.key!r} blocks in {source} by hand",
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", fix
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source} must hold a JSON object, not {type(raw).__name__}", fix)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source} is invalid: {_describe_validation(exc)}", fix) from None


class ConfigStore:
    """The one source of truth for providers and endpoints: a JSON file on disk."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._cached: tuple[tuple[int, int, int], Config] | None = None
        self._guard = threading.Lock()

    @property
    def target(self) -> Path:
        """The file actually written: a symlinked config is written through to its target."""
        return Path(os.path.realpath(self.path))

    @property
    def lock_path(self) -> Path:
        target = self.target
        return target.with_name(target.name + ".lock")

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> Config:
        """The current config; a deep copy, so callers may change it freely."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return Config()  # no file yet: defaults, written on the first change
        except OSError as exc:
            raise ConfigError(f"cannot read {self.path}: {exc.strerror}") from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._guard:
            if self._cached and self._cached[0] == stamp:
                return self._cached[1].model_copy(deep=True)
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read {self.path}: {exc}", "check the file's permissions and encoding"
            ) from None
        config = parse_config(text, str(self.path))
        with self._guard:
            self._cached = (stamp, config)
        return config.model_copy(deep=True)

    def _ccw_folder(self) -> Path | None:
        """The project's ``.ccw/`` folder when this is a project's config file."""
        parts = CONFIG_RELATIVE.parts
        if self.path.parts[-len(parts) :] != parts:
            return None
        return Path(*self.path.parts[: -len(parts)]) / parts[0]

    def _ignore_local_state(self) -> None:
        """Give a project's ``.ccw/`` its ``.gitignore`` (a user's own one is kept)."""
        folder = self._ccw_folder()
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        with (
            contextlib.suppress(FileExistsError),
            (folder / ".gitignore").open("x", encoding="utf-8") as handle,
        ):
            handle.write(GITIGNORE)

    def _lock(self) -> Any:
        from filelock import FileLock

        self._ignore_local_state()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.lock_path), timeout=LOCK_TIMEOUT_S)

    @contextlib.contextmanager
    def edit(self) -> Iterator[Config]:
        """Read-modify-write under the file lock: concurrent editors lose no update.

        The block changes the yielded config; it is saved when the block ends without
        an exception. A broken file raises before anything is written.
        """
        from filelock import Timeout

        try:
            with self._lock():
                config = self.load()
                yield config
                self._write(config)
        except Timeout:
            raise BusyError(
                f"{self.path} is locked by another ccw process",
                f"wait a moment and retry, or remove {self.lock_path} if no ccw is running",
                retry_after=RETRY_AFTER_S,
            ) from None

    def _tmp_prefix(self) -> str:
        return f".{self.target.stem}."

    def _remove_orphans(self, folder: Path) -> None:
        """Temporary copies left by a writer killed mid-save. Every writer holds the lock, so
        under it no other save is in flight: each such file is an orphan holding the whole
        config, keys included."""
        for orphan in folder.glob(self._tmp_prefix() + "*" + TMP_SUFFIX):
            with contextlib.suppress(OSError):
                orphan.unlink()

    def _write(self, config: Config) -> None:
        text = json.dumps(config.to_json(), indent=2, ensure_ascii=False) + "\n"
        target = self.target
        folder = target.parent
        self._remove_orphans(folder)
        fd, tmp = tempfile.mkstemp(prefix=self._tmp_prefix(), suffix=TMP_SUFFIX, dir=folder)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
