"""Where ccw keeps things: the project's config file and the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_RELATIVE = Path(".ccw") / "storage" / "config" / "litellm-api-config.json"


def find_project_root(start: Path | None = None) -> Path:
    """The nearest ancestor holding ``.ccw/`` or ``.git``, else ``start`` itself.

    One pass, nearest first: a repository inside the home folder is its own project even
    when ``~/.ccw`` exists (the default cache lives there).
    """
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / ".ccw").is_dir() or (folder / ".git").exists():
            return folder
    return here


def config_path(explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """``--config`` wins, then ``CCW_CONFIG``, then the project's own file."""
    chosen = explicit or os.environ.get("CCW_CONFIG")
    if chosen:
        return Path(chosen).expanduser().resolve()
    return find_project_root(cwd) / CONFIG_RELATIVE


def project_root_of(config_file: Path) -> Path:
    """The project a config file belongs to: the folder above ``.ccw/storage/config/``, else
    the project around the file. Relative cache directories are taken from it."""
    parts = CONFIG_RELATIVE.parts
    if config_file.parts[-len(parts) :] == parts:
        return Path(*config_file.parts[: -len(parts)])
    return find_project_root(config_file.parent)


def data_dir() -> Path:
    """Per-user data (history, local model state). ``CCW_DATA_DIR`` overrides it."""
    override = os.environ.get("CCW_DATA_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path("ccw", appauthor=False)


def expand_dir(value: str, base: Path) -> Path:
    """Expand ``~`` and make a relative directory relative to ``base``.

    Environment variables are not expanded: a config value that could name any variable
    would let whoever edits it read the environment (keys included) through the path.
    """
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)
