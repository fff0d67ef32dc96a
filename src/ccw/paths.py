"""Where ccw keeps things: the project's config file, the user's config file and the user's
data directory (history, local model state, the key store)."""

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
    return explicit_config(explicit) or project_config_path(find_project_root(cwd))


def explicit_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The one file ``--config`` or ``CCW_CONFIG`` selects (read alone, no user layer)."""
    chosen = explicit or os.environ.get("CCW_CONFIG")
    return Path(chosen).expanduser().resolve() if chosen else None


def project_config_path(root: Path) -> Path:
    return root / CONFIG_RELATIVE


def user_config_dir() -> Path:
    """The user's config folder; ``CCW_USER_CONFIG_DIR`` overrides it, and platformdirs
    honours ``XDG_CONFIG_HOME`` (``~/.config/ccw`` on Linux)."""
    override = os.environ.get("CCW_USER_CONFIG_DIR")
    if override:
        return Path(override).expanduser().resolve()
    import platformdirs

    return platformdirs.user_config_path("ccw", appauthor=False)


def user_config_path() -> Path:
    """The user-level config: same schema as the project's, read beneath it."""
    return user_config_dir() / CONFIG_RELATIVE.name


def keys_path() -> Path:
    """The key store (``ccw keys``): in the user data folder, never in a project."""
    return data_dir() / "keys.json"


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


def git_work_tree(path: Path) -> Path | None:
    """The git work tree holding ``path`` (the nearest folder with ``.git``), else ``None``."""
    here = Path(os.path.abspath(path))
    for folder in [here, *here.parents]:
        if (folder / ".git").exists():
            return folder
    return None
