"""Deterministic pack formats, written file by file to a binary stream.

Every format is *unforgeable*: for any files (a path is any text without NUL, a content any
UTF-8 text without NUL), reading the pack back by the grammar below yields exactly the paths
written, in order, each with its content (``markdown`` and ``plain`` end a content that lacks
a final newline with one). No byte sequence in a content or a path can end its block early,
open another file or end the pack, because each block ends with a sequence its own content
cannot hold, and a path is written bare only when it cannot be mistaken for framing.

``xml`` (default)::

    <files>
    <file path="ATTR"><![CDATA[
    CONTENT]]></file>
    </files>

``ATTR`` escapes ``&``, ``"`` and ``<`` as entities and line breaks and other control
characters as ``&#xN;``. The newline after ``<![CDATA[`` is layout (as after ``<pre>`` in
HTML). ``CONTENT`` is CDATA; each ``]]>`` in it is split into ``]]]]><![CDATA[>``, the
standard way, so the first ``]]>`` not followed by ``<![CDATA[`` ends the file.

``markdown``: ``## NAME``, a blank line, a fence of backticks longer than any backtick run in
the content (at least three) with the language of the extension, the content, the same fence.

``plain``: ``D FILE: NAME D``, the content, ``D END FILE D``, where ``D`` is a run of ``=``
longer than any run of ``=`` that starts a line of the content, after a LF or a CR (at least
three).

In both, files are separated by one blank line, and ``NAME`` is the path as is when it holds
no control character, line or paragraph separator, quote, backslash or backtick and no
leading or trailing blank; otherwise a JSON string (``"a\\nb"``) in which every control
character, separator and unpaired surrogate is escaped.

No timestamps, relative paths only: the same files always give the same bytes.
"""

from __future__ import annotations

import json
import re

from ccw.context.request import ByteSink

FORMATS = ("xml", "markdown", "plain")

# Each search starts from a literal byte, which Python's regex engine skips to in C: several
# times faster than ``bytes in bytes`` for needles this short.
_BACKTICKS = re.compile(rb"`(?<=```)`*")
_CDATA_END = re.compile(rb"\]\]>")
_LINE_EQUALS = re.compile(rb"=(?<=[\r\n]=)=*")
# Characters that end a line or hide in one: C0 and C1 controls, line and paragraph
# separators, and the unpaired surrogates of file names that are not UTF-8.
_UNSAFE = r"\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
_BARE_NAME = re.compile(rf"[^\s\"\\`{_UNSAFE}](?:[^\"\\`{_UNSAFE}]*[^\s\"\\`{_UNSAFE}])?")
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_ATTRIBUTE_UNSAFE = re.compile(rf"[&\"<{_UNSAFE}]")
_ENTITIES = {"&": "&amp;", '"': "&quot;", "<": "&lt;"}
_CDATA_SPLIT = b"]]]]><![CDATA[>"
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


def _attribute(path: str) -> bytes:
    """``path`` as an XML attribute value: entities for ``&"<``, character references for
    line breaks and other unsafe characters."""
    escaped = _ATTRIBUTE_UNSAFE.sub(
        lambda match: _ENTITIES.get(match[0]) or f"&#x{ord(match[0]):x};", path
    )
    return escaped.encode()


def _name(path: str) -> bytes:
    """``path`` for a header line: as is when nothing in it can pass for framing, else a JSON
    string with every control character, separator and unpaired surrogate escaped."""
    if _BARE_NAME.fullmatch(path):
        return path.encode()
    quoted = json.dumps(path, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match[0]):04x}", quoted).encode()


def _fence(data: bytes) -> bytes:
    """A backtick fence longer than any run of three or more backticks in ``data``."""
    runs = _BACKTICKS.findall(data)  # each such run without its first two backticks
    return b"`" * max(3, 3 + max(map(len, runs), default=0))


def _rule(data: bytes) -> bytes:
    """The ``=`` run of a ``plain`` header: longer than any that starts a line of ``data``
    (after a LF or a CR)."""
    longest = max(map(len, _LINE_EQUALS.findall(data)), default=0)
    if data.startswith(b"="):
        longest = max(longest, len(data) - len(data.lstrip(b"=")))
    return b"=" * max(3, longest + 1)


class PackWriter:
    """Writes one pack to ``out``; nothing at all when no file is added.

    Small pieces are gathered and handed to ``out`` in chunks of about ``CHUNK`` bytes (a
    file larger than that goes as it is): a pack of many small files makes a few hundred
    writes, not three per file. ``close`` hands over the rest.
    """

    CHUNK = 256 * 1024

    def __init__(self, fmt: str, out: ByteSink) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown pack format {fmt!r}")
        self.fmt = fmt
        self.out = out
        self.count = 0
        self.framing = 0  # bytes of the pack that are not file content
        self.size = 0  # bytes of the pack so far (written or gathered)
        self.written = 0  # bytes handed to ``out``
        self._parts: list[bytes] = []
        self._gathered = 0

    def _write(self, chunk: bytes) -> int:
        self._parts.append(chunk)
        self._gathered += len(chunk)
        self.framing += len(chunk)
        return len(chunk)

    def _content(self, data: bytes) -> None:
        if len(data) >= self.CHUNK:
            self._flush()
            self.out.write(data)
            self.written += len(data)
        else:
            self._parts.append(data)
            self._gathered += len(data)

    def _flush(self) -> None:
        if self._parts:
            self.out.write(self._parts[0] if len(self._parts) == 1 else b"".join(self._parts))
            self.written += self._gathered
            self._parts.clear()
            self._gathered = 0

    def add(self, path: str, data: bytes) -> int:
        """Append one file (UTF-8 bytes) under its relative path; returns where its bytes
        start in the pack, or -1 when the format had to escape them."""
        before = self.framing
        start = self.size
        offset = self._add_xml(path, data) if self.fmt == "xml" else self._add_text(path, data)
        self.count += 1
        self.size += len(data) + self.framing - before
        if self._gathered >= self.CHUNK:
            self._flush()
        return -1 if offset < 0 else start + offset

    def _add_xml(self, path: str, data: bytes) -> int:
        """Write one file; the offset of its bytes after the pack's size before it."""
        offset = 0
        if self.count == 0:
            offset += self._write(b"<files>\n")
        offset += self._write(b'<file path="' + _attribute(path) + b'"><![CDATA[\n')
        if _CDATA_END.search(data):
            split = data.replace(b"]]>", _CDATA_SPLIT)
            self._content(split)
            self.framing += len(split) - len(data)
            offset = -1
        else:
            self._content(data)
        self._write(b"]]></file>\n")
        return offset

    def _add_text(self, path: str, data: bytes) -> int:
        newline = b"" if data.endswith(b"\n") or not data else b"\n"
        lead = b"" if self.count == 0 else b"\n"
        if self.fmt == "markdown":
            fence = _fence(data)
            language = _LANGUAGES.get(path.rpartition(".")[2].lower(), "") if "." in path else ""
            offset = self._write(
                lead + b"## " + _name(path) + b"\n\n" + fence + language.encode() + b"\n"
            )
            self._content(data)
            self._write(newline + fence + b"\n")
        else:
            rule = _rule(data)
            offset = self._write(lead + rule + b" FILE: " + _name(path) + b" " + rule + b"\n")
            self._content(data)
            self._write(newline + rule + b" END FILE " + rule + b"\n")
        return offset

    def close(self) -> None:
        """Finish the pack (the closing root tag of ``xml``) and hand over what is left."""
        if self.fmt == "xml" and self.count:
            self._write(b"</files>\n")
            self.size += len(b"</files>\n")
        self._flush()
