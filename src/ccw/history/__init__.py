"""The history of every call, in SQLite under the user's data directory.

``open_history()`` is cheap and never fails: the database opens on first use.
"""

from __future__ import annotations

from pathlib import Path

from ccw.history.store import History, HistoryUnavailableError, Resumed

FILE_NAME = "history.db"


def open_history(path: Path | None = None) -> History:
    """The history at ``path``, by default ``ccw.paths.data_dir() / "history.db"``."""
    if path is None:
        from ccw.paths import data_dir

        path = data_dir() / FILE_NAME
    return History(path)


__all__ = ["FILE_NAME", "History", "HistoryUnavailableError", "Resumed", "open_history"]
