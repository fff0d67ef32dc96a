"""Git's ``.gitignore`` rules, for folders that are not inside a git work tree.

A port of the parts of git's ``dir.c`` and ``wildmatch.c`` that decide whether an untracked
path is ignored, so that a walk outside git selects what ``git ls-files --others
--exclude-standard`` would list if the folder were a repository:

- a file is split at ``\\n`` only; a UTF-8 BOM at its start and one ``\\r`` before each
  ``\\n`` are dropped; empty lines and lines starting with ``#`` are skipped; trailing
  spaces are dropped unless escaped with ``\\`` (tabs are kept);
- ``!`` negates, a trailing ``/`` matches folders only, a ``/`` anywhere else anchors the
  pattern to the folder of its ``.gitignore``; a pattern without one matches the name at
  any depth;
- ``*``, ``?``, ``[...]`` (with ``!``/``^``, ranges, escapes and ``[:digit:]``-style
  classes), ``**`` as a whole segment, and ``\\`` escapes, as git's wildmatch reads them;
  a pattern git cannot read (a trailing ``\\``, an unclosed ``[``, an unknown class)
  matches nothing;
- a path is checked against the ``.gitignore`` files from the deepest folder outward; in
  the first file with a matching line, the last such line decides.

Names are matched as bytes, as git does (``?`` is one byte of a UTF-8 name). Pruning an
ignored folder, so that nothing below it can be re-included, is the walker's job.
``.git/info/exclude`` and ``core.excludesFile`` belong to a repository and a user's git
setup, so they do not apply outside git.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_SPECIAL = b"*?[\\"
_BOM = b"\xef\xbb\xbf"
_CLASSES: dict[bytes, bytes] = {
    b"alnum": b"0-9A-Za-z",
    b"alpha": b"A-Za-z",
    b"blank": b" \\t",
    b"cntrl": b"\\x00-\\x1f\\x7f",
    b"digit": b"0-9",
    b"graph": b"\\x21-\\x7e",
    b"lower": b"a-z",
    b"print": b"\\x20-\\x7e",
    b"punct": b"!-/:-@\\[-`{-~",
    b"space": b" \\t\\n\\r",
    b"upper": b"A-Z",
    b"xdigit": b"0-9A-Fa-f",
}

Matcher = Callable[[bytes], bool]


@dataclass(frozen=True)
class Rule:
    """One pattern line: ``basename`` rules see the name, the others the path below the
    folder of their ``.gitignore``."""

    negative: bool
    dir_only: bool
    basename: bool
    match: Matcher


def parse(data: bytes) -> list[Rule]:
    """The rules of one ``.gitignore`` file's content, in file order."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    rules = []
    for line in data.split(b"\n"):
        if not line or line.startswith(b"#"):
            continue
        if line.endswith(b"\r"):
            line = line[:-1]
        rule = compile_rule(_trim_trailing_spaces(line))
        if rule is not None:
            rules.append(rule)
    return rules


def is_ignored(path: bytes, is_dir: bool, stack: Sequence[tuple[int, Sequence[Rule]]]) -> bool:
    """Whether ``path`` is ignored by ``stack``: (offset of the path below the rules' folder,
    rules) from the outermost ``.gitignore`` to the innermost."""
    name = path.rpartition(b"/")[2]
    for offset, rules in reversed(stack):
        below = path[offset:]
        for rule in reversed(rules):
            if rule.dir_only and not is_dir:
                continue
            if rule.match(name if rule.basename else below):
                return not rule.negative
    return False


def _trim_trailing_spaces(line: bytes) -> bytes:
    """Git's ``trim_trailing_spaces``: spaces only, and an escaped space stays."""
    last_space = -1
    index = 0
    while index < len(line):
        char = line[index]
        if char == 0x20:
            if last_space < 0:
                last_space = index
        elif char == 0x5C:
            index += 1
            if index == len(line):
                return line
            last_space = -1
        else:
            last_space = -1
        index += 1
    return line[:last_space] if last_space >= 0 else line


def _simple_length(pattern: bytes) -> int:
    return next((i for i, char in enumerate(pattern) if char in _SPECIAL), len(pattern))


def compile_rule(line: bytes) -> Rule | None:
    """A rule from one trimmed line; None for a line that can never match."""
    negative = line.startswith(b"!")
    pattern = line[1:] if negative else line
    dir_only = pattern.endswith(b"/")
    if dir_only:
        pattern = pattern[:-1]
    if not pattern:
        return None
    basename = b"/" not in pattern
    literal = _simple_length(pattern)
    if basename:
        if literal == len(pattern):
            return Rule(negative, dir_only, True, pattern.__eq__)
        regex = wildmatch_regex(pattern)
        if regex is None:
            return None
        return Rule(negative, dir_only, True, _fullmatch(regex))
    if pattern.startswith(b"/"):
        pattern, literal = pattern[1:], literal - 1
    head, rest = pattern[:literal], pattern[literal:]
    if not rest:
        return Rule(negative, dir_only, False, head.__eq__)
    regex = wildmatch_regex(rest)
    if regex is None:
        return None
    return Rule(negative, dir_only, False, _fullmatch(re.escape(head) + regex))


def _fullmatch(regex: bytes) -> Matcher:
    fullmatch = re.compile(regex, re.DOTALL).fullmatch
    return lambda text: fullmatch(text) is not None


def _byte(value: int) -> bytes:
    return b"\\x%02x" % value


def wildmatch_regex(pattern: bytes) -> bytes | None:
    """A regex equal to git's ``wildmatch(pattern, text, WM_PATHNAME)``; None when git's
    matcher aborts on the pattern itself (then it matches nothing).

    Without WM_PATHNAME (basename rules) ``*`` and ``?`` may also match ``/``, which a name
    never holds, so one translation serves both."""
    out: list[bytes] = []
    index, size = 0, len(pattern)
    while index < size:
        char = pattern[index]
        if char == 0x5C:  # backslash: the next byte literally
            index += 1
            if index == size:
                return None
            out.append(_byte(pattern[index]))
        elif char == 0x3F:  # ?
            out.append(b"[^/]")
        elif char == 0x2A:  # *
            start = index
            while index + 1 < size and pattern[index + 1] == 0x2A:
                index += 1
            after = pattern[index + 1 : index + 3]
            whole = (start == 0 or pattern[start - 1] == 0x2F) and (
                after[:1] in (b"", b"/") or after == b"\\/"
            )
            if index > start and whole:
                if after[:1] == b"/":
                    out.append(b"(?:.*/)?")
                    index += 1
                else:
                    out.append(b".*")
            else:
                out.append(b"[^/]*")
        elif char == 0x5B:  # [
            parsed = _char_class(pattern, index)
            if parsed is None:
                return None
            regex, index = parsed
            out.append(regex)
        else:
            out.append(_byte(char))
        index += 1
    return b"".join(out)


def _char_class(pattern: bytes, start: int) -> tuple[bytes, int] | None:
    """The regex of the class opening at ``start`` and the index of its closing ``]``."""
    size = len(pattern)
    index = start + 1
    negated = index < size and pattern[index] in b"!^"
    if negated:
        index += 1
    members: list[bytes] = []
    previous = 0
    first = True
    while first or pattern[index] != 0x5D:
        first = False
        if index >= size:
            return None
        char = pattern[index]
        if char == 0x5C:
            index += 1
            if index >= size:
                return None
            char = pattern[index]
            members.append(_byte(char))
        elif char == 0x2D and previous and index + 1 < size and pattern[index + 1] != 0x5D:
            index += 1
            high = pattern[index]
            if high == 0x5C:
                index += 1
                if index >= size:
                    return None
                high = pattern[index]
            if previous <= high:
                members.append(_byte(previous) + b"-" + _byte(high))
            char = 0
        elif char == 0x5B and pattern[index + 1 : index + 2] == b":":
            close = pattern.find(b"]", index + 2)
            if close < 0:
                return None
            name = pattern[index + 2 : close]
            if not name.endswith(b":"):
                members.append(_byte(char))
            else:
                members_of = _CLASSES.get(name[:-1])
                if members_of is None:
                    return None
                members.append(members_of)
                index = close
                char = 0
        else:
            members.append(_byte(char))
        previous = char
        index += 1
        if index >= size:
            return None
    body = b"".join(members)
    if negated:
        return b"[^/" + body + b"]", index
    return (b"(?!/)[" + body + b"]" if body else b"(?!)"), index
