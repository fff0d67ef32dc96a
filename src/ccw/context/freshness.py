"""When a stored pack can be trusted by stat calls alone.

A file modified this close to the moment it was packed may change again within the same
mtime tick (the "racy" stamp): such a file is re-read (and compared by hash) instead of
trusted by its stat.
"""

from __future__ import annotations

import os

from ccw.context.select import fingerprint
from ccw.context.store import StoredEntry, StoredFile

RACY_NS = 2_000_000_000


def unchanged(stored: StoredEntry) -> bool:
    """The stat-only check: every file and every watched folder as it was, none racy."""
    limit = stored.packed_ns - RACY_NS
    for item in stored.files:
        if item.mtime_ns >= limit:
            return False
        try:
            info = os.stat(os.path.join(stored.root, item.path))
        except OSError:
            return False
        if (info.st_size, info.st_mtime_ns, info.st_ino) != (item.size, item.mtime_ns, item.ino):
            return False
    for path, old in stored.watch.items():
        if old is not None and old[0] >= limit:
            return False
        current = fingerprint(path)
        if (list(current) if current is not None else None) != old:
            return False
    return True


def reusable(stored: StoredEntry | None) -> dict[str, StoredFile]:
    """Stored files whose stat can be trusted (not modified right around the last pack)."""
    if stored is None:
        return {}
    limit = stored.packed_ns - RACY_NS
    return {item.path: item for item in stored.files if item.mtime_ns < limit}
