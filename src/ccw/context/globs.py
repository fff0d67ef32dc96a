"""Shell-style globs for ``@patterns``: ``*``, ``**``, ``?``, ``[...]`` and ``{a,b}``.

``*`` and ``?`` never cross ``/``; ``**`` as a whole segment matches any number of folders,
including none; the rest of git's wildmatch syntax (``[:digit:]`` classes, ``\\`` escapes)
holds too, so a glob selects what git's ``:(glob)`` pathspec would.
A glob is split into the literal folder it starts from (listed once) and
the rest (matched as a regex against paths relative to that folder).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from ccw.context.gitignore import wildmatch_regex

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


def translate(glob: str) -> Callable[[str], bool]:
    """Whether a whole relative path (``/``-separated) matches, as git's ``:(glob)``
    pathspec reads the glob (wildmatch on the UTF-8 bytes: ``?`` is one byte, ``\\``
    escapes, an unclosed ``[`` matches nothing)."""
    regex = wildmatch_regex(os.fsencode(glob))
    if regex is None:
        return lambda path: False
    fullmatch = re.compile(regex, re.DOTALL).fullmatch
    return lambda path: fullmatch(os.fsencode(path)) is not None
