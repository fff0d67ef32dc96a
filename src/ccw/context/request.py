"""What a pack is asked for (``ContextRequest``) and what comes back (``ContextResult``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from ccw.context.options import SEPARATOR, Format, Overflow, TokenMode
from ccw.context.parse import Pattern


class ByteSink(Protocol):
    """Where a pack is written: a binary stream (stdout's buffer, a file, ``io.BytesIO``)."""

    def write(self, data: bytes, /) -> Any: ...


# Called with (files done, files selected) while packing: 0 before the first file, then
# after each one. The library shows nothing itself; the CLI draws a bar from this.
ProgressCallback = Callable[[int, int], None]


@dataclass
class ContextRequest:
    prompt: str
    root: Path
    include_dirs: Sequence[Path] = ()
    file_patterns: Sequence[str] = ()
    # Folder names globs leave out (None: the default list; empty: no policy exclusion).
    exclude_dirs: Sequence[str] | None = None
    # Patterns exactly as typed (``ccw pack`` arguments); None: those written in the prompt.
    patterns: Sequence[Pattern] | None = None
    max_total_bytes: int = 512 * 1024
    max_file_bytes: int = 1024 * 1024
    max_files: int = 1000
    ttl_minutes: int = 60
    use_cache: bool = True
    cache_dir: Path | None = None
    max_cache_bytes: int = 100 * 1024 * 1024
    fmt: Format = "xml"
    on_overflow: Overflow = "skip"
    allow_secrets: bool = False
    # A pattern that matches no file: a ``UsageError`` unless this is set (then a warning).
    allow_empty: bool = False
    # Patterns that match nothing from ``root`` are tried from here too (an ancestor).
    project_root: Path | None = None
    tokens: TokenMode = "estimate"
    model: str | None = None
    on_progress: ProgressCallback | None = None
    clock: Callable[[], float] = time.time


class PackedFile(NamedTuple):
    """A tuple: a hit of 100,000 files makes them in C (``map(PackedFile._make, ...)``)."""

    path: str
    size: int
    tokens: int


@dataclass(slots=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class ContextResult:
    pack: str
    prompt: str
    files: Sequence[PackedFile] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Files a glob matched that the folder policy left out, by reason ("build/": 12).
    excluded: dict[str, int] = field(default_factory=dict)
    # Files a limit left out without looking at them, counted by reason.
    left_out: dict[str, int] = field(default_factory=dict)
    # When a limit cut the pack: the one-line rule that chose the files kept.
    rule: str | None = None
    cache_used: bool = False
    session_id: str | None = None
    total_tokens: int = 0
    pack_bytes: int = 0
    files_read: int = 0

    def final_prompt(self) -> str:
        """The pack, the separator and the prompt; just the prompt when nothing was packed."""
        return self.pack + SEPARATOR + self.prompt if self.pack else self.prompt

    def to_json(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "cacheUsed": self.cache_used,
            "cachedFiles": [item.path for item in self.files],
            "files": [
                {"path": item.path, "size": item.size, "tokens": item.tokens} for item in self.files
            ],
            "skipped": [{"path": item.path, "reason": item.reason} for item in self.skipped],
            "leftOutByLimit": self.left_out,
            "selectionRule": self.rule,
            "warnings": self.warnings,
            "excludedByPolicy": self.excluded,
            "totalTokens": self.total_tokens,
            "packBytes": self.pack_bytes,
        }
