"""Reading a selected file safely, and what makes its content unfit for a pack.

A file is opened without following a symlink and without blocking on a FIFO swapped in
after selection; the descriptor is then checked to be the regular file that was selected.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat

from ccw.context.secrets import secret_content
from ccw.context.select import Candidate

_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
)


class ChangedError(Exception):
    """The path no longer names the file that was selected (swapped for a symlink, a FIFO
    or another file between selection and reading)."""


def read_selected(candidate: Candidate, limit: int) -> tuple[bytes, tuple[int, int, int]]:
    """At most ``limit + 1`` bytes of the selected file and the (size, mtime_ns, inode) of
    the descriptor read. ``os.read`` skips the buffered-file machinery ``open`` sets up."""
    try:
        fd = os.open(candidate.path, _READ_FLAGS)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ChangedError("replaced by a symlink while packing") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ChangedError("replaced by something other than a regular file while packing")
        if (info.st_dev, info.st_ino) != (candidate.dev, candidate.ino):
            raise ChangedError("replaced by another file while packing")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0 and (chunk := os.read(fd, min(left, max(candidate.size + 1, 1 << 16)))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return data, (info.st_size, info.st_mtime_ns, info.st_ino)


def read_expected(path: str, digest: str) -> bytes | None:
    """The bytes of the regular file at ``path`` when they hash to ``digest``, else None
    (a stored copy is repaired only from the very bytes it held)."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks: list[bytes] = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return data if hashlib.sha256(data).hexdigest() == digest else None


def content_problem(data: bytes, allow_secrets: bool) -> str | None:
    """Why these bytes are left out of a pack (binary, or a secret), or None."""
    if b"\0" in data:
        return "binary (NUL byte)"
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return "binary (not UTF-8 text)"
    if not allow_secrets:
        kind = secret_content(data)
        if kind is not None:
            return f"holds a secret ({kind}); --allow-secrets includes it"
    return None
