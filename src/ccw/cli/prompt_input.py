"""Where a ``ccw cli`` prompt comes from: its words, ``-p``, ``-f FILE`` and piped input.

What the user writes (the words, ``-p``, ``-f FILE``, ``-f -``) is the prompt: its
``@patterns`` pull in files. Text piped on standard input without ``-f -`` is *input*: it is
sent ahead of the prompt, as it is, and never scanned for patterns (a diff is full of ``@@``).

Piped input is read when standard input is not a terminal. A pipe that stays silent (a
script's inherited stdin, a command that never writes) is not waited on for long when a
prompt was given: ``STDIN_WAIT_S`` seconds, then the call goes on without it and says so.
``--input -`` (input) and ``-f -`` (prompt) always wait for the end of standard input;
``--input FILE`` sends a file as input.
"""

from __future__ import annotations

import os
import select
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ccw.errors import UsageError

STDIN_WAIT_S = 1.0


@dataclass(frozen=True)
class PromptInput:
    """The prompt the user wrote, and what was piped in (``None``: nothing)."""

    prompt: str
    piped: str | None = None


def gather(
    words: Sequence[str],
    prompt: str | None,
    file: str | None,
    *,
    input_file: str | None = None,
    stdin: TextIO | None = None,
    wait: float = STDIN_WAIT_S,
    note: Callable[[str], None] | None = None,
) -> PromptInput:
    """The prompt from ``words`` or ``-p`` (not both), after ``-f``'s text when given, and
    the piped input. Raises ``UsageError`` when there is no prompt at all."""
    source = stdin if stdin is not None else sys.stdin
    typed = " ".join(words) if words else None
    if typed is not None and prompt is not None:
        raise UsageError(
            "give the prompt once: as words or with -p, not both",
            'e.g. ccw cli "What is 2+2?" or ccw cli -p "What is 2+2?"',
        )
    typed = prompt if typed is None else typed
    if typed == "-":  # the old spelling of -f -
        typed, file = None, "-"
    if file == "-" and input_file == "-":
        raise UsageError("standard input is either the prompt (-f -) or the input (--input -)")
    written = [text for text in (_file_text(file, source), typed) if text is not None]
    given = _file_text(input_file, source, "input")
    if given is not None:
        if not written:
            raise UsageError("--input needs a prompt to go with it", 'e.g. ccw cli "Summarise"')
        return PromptInput("\n\n".join(written), given)
    if file == "-":
        return PromptInput("\n\n".join(written))
    if written:
        return PromptInput("\n\n".join(written), _piped(source, wait, note))
    if _is_terminal(source):
        raise UsageError(
            "no prompt given",
            'e.g. ccw cli "What is 2+2?", -p "...", -f FILE, or pipe text in',
        )
    piped = source.read()  # stdin is the only prompt: wait for all of it
    if not piped.strip():
        raise UsageError("no prompt given, and standard input was empty", 'e.g. ccw cli "..."')
    return PromptInput("", piped)


def _file_text(file: str | None, source: TextIO, what: str = "prompt") -> str | None:
    if file is None:
        return None
    if file == "-":
        return source.read()
    try:
        return Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{what} file not found: {file}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {what} file {file}: {exc}") from None


def _is_terminal(source: TextIO) -> bool:
    try:
        return source.isatty()
    except (ValueError, OSError):  # closed
        return True


def _piped(source: TextIO, wait: float, note: Callable[[str], None] | None) -> str | None:
    """What is piped in, or None (a terminal, nothing, or a pipe silent for ``wait`` s)."""
    if _is_terminal(source):
        return None
    try:
        fd = source.fileno()
    except (OSError, ValueError):  # an in-memory stream (tests, embedding): just read it
        return source.read() or None
    mode = os.fstat(fd).st_mode
    if (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)) and not select.select([fd], [], [], wait)[0]:
        if note is not None:
            note(
                f"standard input sent nothing in {wait:g} s and was not read; "
                "to wait for a slow command: ... | ccw cli --input - PROMPT"
            )
        return None
    text = source.read()
    return text if text.strip() else None
