"""The cache settings a pack needs, without building the config schema on every call.

``ccw pack`` reads four values of the merged config (``globalCacheSettings``): whether the
cache is on, its folder, its size limit and the folders globs leave out. Validating the
whole config takes pydantic's import and the schema's build, several times the cost of
packing a small tree, so the values are kept in a small memo in the user data folder,
keyed by the stat of every config file read (its inode, size, and modification and change
times, which every write moves) and by ccw's version and schema module: an unchanged config
gives the same values without pydantic; any change, a file appearing or going, and the memo
is not used and the config is validated in full (a broken file is the same error as ever).
The memo holds only these settings and stats, nothing read from a file's bytes: never a
provider, key or header.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccw.paths import (
    data_dir,
    explicit_config,
    find_project_root,
    project_config_path,
    user_config_path,
)

if TYPE_CHECKING:
    from ccw.config.schema import Config

MEMO_NAME = "pack-settings.json"
MEMO_ENTRIES = 16  # one per project (and --config file) recently packed
_SCHEMA = Path(__file__).resolve().parent.parent / "config" / "schema.py"


@dataclass(frozen=True)
class CacheSettings:
    """``globalCacheSettings`` as a pack uses it (same names as the config's fields)."""

    enabled: bool = True
    cache_dir: str = "~/.ccw/cache/context"
    max_total_size_mb: float = 100
    exclude_dirs: tuple[str, ...] | None = None

    @classmethod
    def of(cls, config: Config) -> CacheSettings:
        settings = config.global_cache_settings
        excluded = settings.exclude_dirs
        return cls(
            enabled=settings.enabled,
            cache_dir=settings.cache_dir,
            max_total_size_mb=settings.max_total_size_mb,
            exclude_dirs=None if excluded is None else tuple(excluded),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "cacheDir": self.cache_dir,
            "maxTotalSizeMB": self.max_total_size_mb,
            "excludeDirs": None if self.exclude_dirs is None else list(self.exclude_dirs),
        }

    @classmethod
    def from_json(cls, data: Any) -> CacheSettings | None:
        """The settings a memo holds; None when it holds anything else."""
        if not isinstance(data, dict):
            return None
        enabled, folder = data.get("enabled"), data.get("cacheDir")
        size, excluded = data.get("maxTotalSizeMB"), data.get("excludeDirs")
        if not (
            type(enabled) is bool
            and isinstance(folder, str)
            and isinstance(size, int | float)
            and not isinstance(size, bool)
            and (
                excluded is None
                or (isinstance(excluded, list) and all(isinstance(n, str) for n in excluded))
            )
        ):
            return None
        return cls(enabled, folder, size, None if excluded is None else tuple(excluded))


def layer_files(explicit: str | Path | None = None, cwd: Path | None = None) -> list[Path]:
    """The config files read, in order: the one ``--config``/``CCW_CONFIG`` selects, else the
    user's file and the project's (as ``LayeredConfig.open`` reads them)."""
    chosen = explicit_config(explicit)
    if chosen is not None:
        return [chosen]
    return [user_config_path(), project_config_path(find_project_root(cwd))]


def cache_settings(explicit: str | Path | None = None, cwd: Path | None = None) -> CacheSettings:
    """The merged config's cache settings: from the memo when no config file changed, else
    validated in full (``ConfigError`` for a broken file, as every command gives)."""
    key = _key(layer_files(explicit, cwd))
    memo_path = data_dir() / MEMO_NAME
    memo = _read_memo(memo_path)
    found = CacheSettings.from_json(memo.get(key)) if key is not None else None
    if found is not None:
        return found
    from ccw.config.layers import LayeredConfig

    settings = CacheSettings.of(LayeredConfig.open(explicit, cwd).load())
    if key is not None:
        memo.pop(key, None)
        memo[key] = settings.to_json()
        _write_memo(memo_path, dict(list(memo.items())[-MEMO_ENTRIES:]))
    return settings


def _stamp(path: Path) -> str:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "absent"
    return f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"


def _key(files: list[Path]) -> str | None:
    """A digest of what the settings come from; None when a file cannot be stat'ed (the
    full path then reports it)."""
    from ccw.version import __version__

    try:
        parts = [__version__, _stamp(_SCHEMA), *(f"{path}\0{_stamp(path)}" for path in files)]
    except OSError:
        return None
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _read_memo(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_memo(path: Path, memo: dict[str, Any]) -> None:
    """Replace the memo atomically; a folder that cannot be written only costs speed."""
    import tempfile

    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(memo, handle)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
