"""When a stored pack can be trusted by stat calls alone.

A file modified this close to the moment it was packed may change again within the same
mtime tick (the "racy" stamp): such a file is re-read (and compared by hash) instead of
trusted by its stat.
"""

from __future__ import annotations

import os

from ccw.context.manifest import INO, INO_MASK, MTIME, SIZE, Watched
from ccw.context.store import StoredEntry

RACY_NS = 2_000_000_000


def unchanged(stored: StoredEntry) -> bool:
    """The stat-only check: every file and every watched folder as it was, none racy.

    Files are stat'ed relative to the root's descriptor (no path join, no walk down the
    root's own folders for each file)."""
    limit = stored.packed_ns - RACY_NS
    manifest = stored.manifest
    if manifest.numbers and max(manifest.column(MTIME)) >= limit:
        return False
    if os.stat not in os.supports_dir_fd:
        return _files_unchanged(stored, None)
    try:
        root = os.open(stored.root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return False
    try:
        if not _files_unchanged(stored, root):
            return False
    finally:
        os.close(root)
    return _folders_unchanged(stored.watch, limit)


def _folders_unchanged(watch: Watched, limit: int) -> bool:
    """Each watched folder and ignore file as it was (a missing one still missing)."""
    stat = os.stat
    mtimes, sizes, inodes = watch.columns()
    if mtimes and max(mtimes) >= limit:
        return False
    for path, mtime_ns, size, ino in zip(watch.paths, mtimes, sizes, inodes, strict=True):
        try:
            info = stat(path)
        except OSError:
            if size == -1:
                continue
            return False
        if info.st_mtime_ns != mtime_ns or info.st_size != size or info.st_ino & INO_MASK != ino:
            return False
    return True


def _files_unchanged(stored: StoredEntry, root: int | None) -> bool:
    """Each file's size, mtime and inode as stored: the columns are compared as they are,
    with nothing built per file but its ``stat`` result."""
    stat, join, base = os.stat, os.path.join, stored.root
    manifest = stored.manifest
    sizes, mtimes, inodes = (manifest.column(which) for which in (SIZE, MTIME, INO))
    try:
        for path, size, mtime_ns, ino in zip(manifest.paths, sizes, mtimes, inodes, strict=True):
            info = stat(path, dir_fd=root) if root is not None else stat(join(base, path))
            if (
                info.st_mtime_ns != mtime_ns
                or info.st_size != size
                or info.st_ino & INO_MASK != ino
            ):
                return False
    except OSError:
        return False
    return True


def reusable(stored: StoredEntry | None) -> dict[str, int]:
    """The stored files whose stat can be trusted (not modified right around the last
    pack): each path's index in the stored manifest."""
    if stored is None:
        return {}
    limit = stored.packed_ns - RACY_NS
    manifest = stored.manifest
    rows = enumerate(zip(manifest.paths, manifest.column(MTIME), strict=True))
    return {path: i for i, (path, mtime) in rows if mtime < limit}
