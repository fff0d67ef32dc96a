"""An entry's files as three compact columns: a hit reads them without a row per file.

A stored pack lists every file it looked at (packed or left out for a reason) with the stat
it had. At 100,000 files a row per file costs more to read than the whole stat check that
uses it, so the list is kept as the paths joined by NUL, one array of 64-bit integers laid
out column by column (sizes, mtimes, inodes, tokens, content offsets, content lengths) and
the few reasons as JSON. Columns slice out in C (``numbers[n:2 * n]``), so a hit compares
stats with no per-file object but the ``os.stat`` result itself.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, overload

from ccw.context.request import PackedFile
from ccw.sqlite import DamagedError

# The columns of ``numbers``, in order.
SIZE, MTIME, INO, TOKENS, OFFSET, LENGTH = range(6)
COLUMNS = 6
# Inodes are unsigned 64-bit, the array signed: both sides are compared masked.
INO_MASK = (1 << 63) - 1


class StoredFile(NamedTuple):
    """A file as it was when packed; ``reason`` is set when it was left out. ``offset`` is
    where its bytes start in the stored pack text (-1 when the pack holds them escaped, or
    not at all), ``length`` how many there are."""

    path: str
    size: int
    mtime_ns: int
    ino: int
    tokens: int
    reason: str | None = None
    offset: int = -1
    length: int = 0


class Manifest:
    """The files of one entry, in pack order."""

    __slots__ = ("numbers", "paths", "reasons")

    def __init__(self, paths: list[str], numbers: array[int], reasons: dict[int, str]) -> None:
        self.paths = paths
        self.numbers = numbers
        self.reasons = reasons

    @classmethod
    def of(cls, files: Iterable[StoredFile]) -> Manifest:
        builder = ManifestBuilder()
        for item in files:
            builder.add_file(item)
        return builder.build()

    def __len__(self) -> int:
        return len(self.paths)

    def file(self, index: int) -> StoredFile:
        """The file at ``index``, as a ``StoredFile``."""
        n, numbers = len(self.paths), self.numbers
        values = numbers[index::n] if n else numbers
        size, mtime, ino, tokens, offset, length = values
        return StoredFile(
            self.paths[index], size, mtime, ino, tokens, self.reasons.get(index), offset, length
        )

    def column(self, which: int) -> array[int]:
        count = len(self.paths)
        return self.numbers[which * count : (which + 1) * count]

    def encode(self) -> tuple[bytes, memoryview, str]:
        """The three stored columns: paths, numbers (a view: SQLite copies it once),
        reasons."""
        paths = "\0".join(self.paths).encode("utf-8", "surrogateescape")
        reasons = json.dumps({str(i): reason for i, reason in self.reasons.items()})
        return paths, memoryview(self.numbers).cast("B"), reasons

    @classmethod
    def decode(cls, paths: object, numbers: object, reasons: object) -> Manifest:
        """The columns read back; anything but what ``encode`` wrote raises
        ``DamagedError``."""
        if not (
            isinstance(paths, bytes) and isinstance(numbers, bytes) and isinstance(reasons, str)
        ):
            raise DamagedError("a file list of the context cache has the wrong types")
        try:
            names = paths.decode("utf-8", "surrogateescape").split("\0") if paths else []
            values = array("q")
            values.frombytes(numbers)
            loaded = json.loads(reasons)
        except ValueError:
            raise DamagedError("a file list of the context cache cannot be read") from None
        if (
            len(values) != COLUMNS * len(names)
            or not isinstance(loaded, dict)
            or not all(isinstance(v, str) and k.isdigit() for k, v in loaded.items())
        ):
            raise DamagedError("a file list of the context cache does not add up")
        found = {int(k): v for k, v in loaded.items()}
        if any(index >= len(names) for index in found):
            raise DamagedError("a file list of the context cache does not add up")
        return cls(names, values, found)

    def files(self) -> Iterator[StoredFile]:
        """Each file as a ``StoredFile`` (for the paths that need more than the stats)."""
        reasons = self.reasons
        columns = [self.column(which) for which in range(COLUMNS)]
        for index, (path, *values) in enumerate(zip(self.paths, *columns, strict=True)):
            size, mtime, ino, tokens, offset, length = values
            yield StoredFile(path, size, mtime, ino, tokens, reasons.get(index), offset, length)

    def packed(self) -> Iterator[tuple[str, int, int]]:
        """Path, size and tokens of each packed file (those not left out)."""
        rows = zip(self.paths, self.column(SIZE), self.column(TOKENS), strict=True)
        if not self.reasons:
            return rows
        reasons = self.reasons
        return (row for index, row in enumerate(rows) if index not in reasons)


class Watched:
    """The folders and ignore files that decided an entry's listing, with their stat
    (mtime, size, inode; size -1 for a path that did not exist): two columns, like the
    files, so that a hit checks thousands of folders without decoding a row each."""

    __slots__ = ("numbers", "paths")

    def __init__(self, paths: list[str], numbers: array[int]) -> None:
        self.paths = paths
        self.numbers = numbers

    @classmethod
    def of(cls, stats: dict[str, tuple[int, int, int] | None]) -> Watched:
        paths = sorted(stats)
        numbers = array("q")
        found = [stats[path] for path in paths]
        numbers.extend(0 if stat is None else stat[0] for stat in found)
        numbers.extend(-1 if stat is None else stat[1] for stat in found)
        numbers.extend(0 if stat is None else stat[2] & INO_MASK for stat in found)
        return cls(paths, numbers)

    def columns(self) -> tuple[array[int], array[int], array[int]]:
        """Mtimes, sizes and inodes."""
        n = len(self.paths)
        numbers = self.numbers
        return numbers[:n], numbers[n : 2 * n], numbers[2 * n :]

    def encode(self) -> tuple[bytes, bytes]:
        return "\0".join(self.paths).encode("utf-8", "surrogateescape"), self.numbers.tobytes()

    @classmethod
    def decode(cls, paths: object, numbers: object) -> Watched:
        """The columns read back; anything but what ``encode`` wrote raises
        ``DamagedError``."""
        if not (isinstance(paths, bytes) and isinstance(numbers, bytes)):
            raise DamagedError("a folder list of the context cache has the wrong types")
        names = paths.decode("utf-8", "surrogateescape").split("\0") if paths else []
        values = array("q")
        try:
            values.frombytes(numbers)
        except ValueError:
            raise DamagedError("a folder list of the context cache cannot be read") from None
        if len(values) != 3 * len(names):
            raise DamagedError("a folder list of the context cache does not add up")
        return cls(names, values)


class ManifestBuilder:
    """A manifest gathered file by file into its columns: no object per file is kept while
    a pack of 100,000 files is made."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.columns = [array("q") for _ in range(COLUMNS)]
        self.reasons: dict[int, str] = {}

    def add(self, path: str, stat: tuple[int, int, int], tokens: int, offset: int = -1,
            length: int = 0, reason: str | None = None) -> None:  # fmt: skip
        """One file: its path, (size, mtime, inode), tokens, where its bytes sit in the pack
        text and, for a file left out, why."""
        if reason is not None:
            self.reasons[len(self.paths)] = reason
        self.paths.append(path)
        sizes, mtimes, inodes, counts, offsets, lengths = self.columns
        sizes.append(stat[0])
        mtimes.append(stat[1])
        inodes.append(stat[2] & INO_MASK)
        counts.append(tokens)
        offsets.append(offset)
        lengths.append(length)

    def add_file(self, item: StoredFile) -> None:
        self.add(item.path, (item.size, item.mtime_ns, item.ino), item.tokens, item.offset,
                 item.length, item.reason)  # fmt: skip

    def build(self) -> Manifest:
        """The manifest; the builder's columns are let go as they are copied."""
        numbers = array("q")
        while self.columns:
            numbers.extend(self.columns.pop(0))
        return Manifest(self.paths, numbers, self.reasons)


class PackedFiles(Sequence[PackedFile]):
    """The packed files of a stored entry, made only when asked for: a hit of 100,000 files
    that just prints a summary builds no object per file."""

    def __init__(self, manifest: Manifest) -> None:
        self._manifest = manifest
        self._made: list[PackedFile] | None = None

    def _all(self) -> list[PackedFile]:
        if self._made is None:
            self._made = list(map(PackedFile._make, self._manifest.packed()))
        return self._made

    def __len__(self) -> int:
        return len(self._manifest) - len(self._manifest.reasons)

    @overload
    def __getitem__(self, index: int) -> PackedFile: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[PackedFile]: ...
    def __getitem__(self, index: int | slice) -> PackedFile | Sequence[PackedFile]:
        return self._all()[index]

    def __iter__(self) -> Iterator[PackedFile]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
