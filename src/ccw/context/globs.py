"""Shell-style globs for ``@patterns``: ``*``, ``**``, ``?``, ``[...]`` and ``{a,b}``.

``*`` and ``?`` never cross ``/``; ``**`` as a whole segment matches any number of folders,
including none. A glob is split into the literal folder it starts from (listed once) and
the rest (matched as a regex against paths relative to that folder).
"""

from __future__ import annotations

import re

_MAGIC = re.compile(r"[*?\[{]")


def is_glob(text: str) -> bool:
    return _MAGIC.search(text) is not None


def expand_braces(text: str) -> list[str]:
    """``a/{b,c}/*.{py,md}`` -> four globs, in the order written. Unbalanced braces stay literal."""
    depth, start = 0, -1
    for index, char in enumerate(text):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                options = _split_top(text[start + 1 : index])
                if len(options) < 2:
                    continue
                head, tail = text[:start], text[index + 1 :]
                return [out for option in options for out in expand_braces(head + option + tail)]
    return [text]


def _split_top(body: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += (char == "{") - (char == "}")
        current.append(char)
    parts.append("".join(current))
    return parts


def split_base(glob: str) -> tuple[str, str]:
    """``src/app/**/*.py`` -> (``src/app``, ``**/*.py``): literal leading folders, then the rest."""
    segments = glob.split("/")
    for index, segment in enumerate(segments):
        if is_glob(segment):
            return "/".join(segments[:index]), "/".join(segments[index:])
    return glob, ""


def translate(glob: str) -> re.Pattern[str]:
    """A compiled regex that matches a whole relative path (``/``-separated)."""
    out: list[str] = []
    segments = glob.split("/")
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if segment == "**":
            out.append(".*" if last else "(?:.*/)?")
            continue
        out.append(_segment(segment))
        if not last:
            out.append("/")
    return re.compile("".join(out), re.DOTALL)


def _segment(segment: str) -> str:
    out, index = [], 0
    while index < len(segment):
        char = segment[index]
        if char == "*":
            while index + 1 < len(segment) and segment[index + 1] == "*":
                index += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = _class_end(segment, index)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = segment[index + 1 : end]
                negate = body[:1] in ("!", "^")
                body = body[1:] if negate else body
                body = body.replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"[{'^/' if negate else ''}{body}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def _class_end(segment: str, start: int) -> int:
    index = start + 1
    if index < len(segment) and segment[index] in "!^":
        index += 1
    if index < len(segment) and segment[index] == "]":
        index += 1
    end = segment.find("]", index)
    return end
