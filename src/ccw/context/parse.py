"""Find ``@patterns`` in a prompt and render the prompt that is sent after the pack.

A pattern starts with ``@`` at the start of the prompt or after a space or an opening
bracket or quote, so e-mail addresses (``bob@example.com``) are left alone. Forms:
``@path``, ``@glob``, ``@"a path/with spaces/*.md"``, ``@!pattern`` (exclude). Trailing
sentence punctuation is not part of a pattern; a closing bracket is kept only when the
pattern opened it, so ``@app/[id]/page.tsx`` and ``(see @src/a.py)`` both read right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERN = re.compile(r"""(?<![\w.@/\\+-])@(!?)(?:"([^"\n]+)"|([^\s"'`<>]+))""")
_TRAILING = ".,;:!?'\""
_PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class Pattern:
    """One ``@pattern`` as written (without ``@``, quotes or ``!``)."""

    text: str
    exclude: bool = False


def _trim(token: str) -> str:
    """Drop trailing punctuation and unbalanced closing brackets."""
    while token:
        last = token[-1]
        punctuation = last in _TRAILING and token.strip("./") != ""
        unbalanced = last in _PAIRS and token.count(_PAIRS[last]) < token.count(last)
        if punctuation or unbalanced:
            token = token[:-1]
        else:
            break
    return token


def _scan(prompt: str) -> list[tuple[int, int, Pattern, str]]:
    """Every pattern with its span in the prompt and the plain text that replaces it."""
    found = []
    for match in _PATTERN.finditer(prompt):
        bang, quoted, bare = match.group(1), match.group(2), match.group(3)
        if quoted is not None:
            text, end, shown = quoted, match.end(), f'"{quoted}"'
        else:
            text = _trim(bare)
            if not text or text == "!":
                continue
            end, shown = match.start(3) + len(text), text
        found.append((match.start(), end, Pattern(text, exclude=bool(bang)), bang + shown))
    return found


def find_patterns(prompt: str) -> list[Pattern]:
    """The patterns in the order they are written."""
    return [pattern for _, _, pattern, _ in _scan(prompt)]


def has_patterns(prompt: str) -> bool:
    """Whether the prompt names any file to include."""
    return any(not pattern.exclude for pattern in find_patterns(prompt))


def plain_prompt(prompt: str) -> str:
    """The prompt with each ``@pattern`` written as a plain path (``@src/a.py`` -> ``src/a.py``)."""
    parts, position = [], 0
    for start, end, _, shown in _scan(prompt):
        parts.append(prompt[position:start])
        parts.append(shown)
        position = end
    parts.append(prompt[position:])
    return "".join(parts)
