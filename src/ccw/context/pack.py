"""Deterministic pack formats, written file by file to a binary stream.

``xml`` (default) puts each file in a ``<file path="...">`` tag; when a file's content holds
the closing tag, that file's tag gets a numbered name (``<file-2 ...>``) whose closing tag
the content does not hold, so the end of every file stays unambiguous. ``markdown`` uses a
fence longer than any backtick run inside; ``plain`` writes ``=== FILE: path ===`` headers.
No timestamps, relative paths only: the same files always give the same bytes.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

FORMATS = ("xml", "markdown", "plain")

_BACKTICKS = re.compile(rb"`{3,}")
_LANGUAGES = {
    "py": "python",
    "pyi": "python",
    "js": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "jsx": "jsx",
    "ts": "typescript",
    "tsx": "tsx",
    "md": "markdown",
    "rst": "rst",
    "json": "json",
    "toml": "toml",
    "yml": "yaml",
    "yaml": "yaml",
    "html": "html",
    "css": "css",
    "scss": "scss",
    "sh": "bash",
    "bash": "bash",
    "go": "go",
    "rs": "rust",
    "java": "java",
    "kt": "kotlin",
    "c": "c",
    "h": "c",
    "cpp": "cpp",
    "hpp": "cpp",
    "cs": "csharp",
    "rb": "ruby",
    "php": "php",
    "sql": "sql",
    "swift": "swift",
    "txt": "text",
}


class ByteSink(Protocol):
    def write(self, data: bytes, /) -> Any: ...


def _attribute(path: str) -> bytes:
    escaped = path.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return escaped.encode("utf-8", "replace")


def _xml_tag(data: bytes) -> bytes:
    if b"</file>" not in data:
        return b"file"
    number = 2
    while b"</file-%d>" % number in data:
        number += 1
    return b"file-%d" % number


def _fence(data: bytes) -> bytes:
    longest = (
        max((len(run) for run in _BACKTICKS.findall(data)), default=0) if b"```" in data else 0
    )
    return b"`" * max(3, longest + 1)


class PackWriter:
    """Writes one pack to ``out``; nothing at all when no file is added."""

    def __init__(self, fmt: str, out: ByteSink) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown pack format {fmt!r}")
        self.fmt = fmt
        self.out = out
        self.count = 0
        self.framing = 0

    def _write(self, chunk: bytes) -> None:
        self.out.write(chunk)
        self.framing += len(chunk)

    def add(self, path: str, data: bytes) -> None:
        """Append one file (UTF-8 bytes) under its relative path."""
        newline = b"" if data.endswith(b"\n") or not data else b"\n"
        name = path.encode("utf-8", "replace")
        if self.fmt == "xml":
            if self.count == 0:
                self._write(b"<files>\n")
            tag = _xml_tag(data)
            self._write(
                b'<file path="' + _attribute(path) + b'">\n'
                if tag == b"file"
                else b"<" + tag + b' path="' + _attribute(path) + b'">\n'
            )
            self.out.write(data)
            self._write(newline + b"</" + tag + b">\n")
        elif self.fmt == "markdown":
            fence = _fence(data)
            language = _LANGUAGES.get(path.rpartition(".")[2].lower(), "") if "." in path else ""
            lead = b"" if self.count == 0 else b"\n"
            self._write(lead + b"## " + name + b"\n\n" + fence + language.encode() + b"\n")
            self.out.write(data)
            self._write(newline + fence + b"\n")
        else:
            lead = b"" if self.count == 0 else b"\n"
            self._write(lead + b"=== FILE: " + name + b" ===\n")
            self.out.write(data)
            self._write(newline)
        self.count += 1

    def close(self) -> None:
        """Finish the pack (the closing root tag of ``xml``)."""
        if self.fmt == "xml" and self.count:
            self._write(b"</files>\n")
