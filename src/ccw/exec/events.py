"""What a call reports while it runs, as typed events for one ``on_event`` callback.

``Text`` is a piece of the answer (stdout); ``Status`` and ``Warning`` are lines for the user
(stderr); ``Progress`` tells how far packing is. A caller renders them as it likes: the CLI
prints them, a server could stream them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """A piece of the answer, as it arrives."""

    piece: str


@dataclass(frozen=True)
class Status:
    """Progress worth a line: a retry, the local model starting."""

    text: str


@dataclass(frozen=True)
class Warning:
    """Something the user should know that does not stop the call (read as ``events.Warning``:
    the name shadows the builtin in this module only)."""

    text: str


@dataclass(frozen=True)
class Progress:
    """How far packing is: ``done`` of ``total`` files."""

    done: int
    total: int


Event = Text | Status | Warning | Progress
OnEvent = Callable[[Event], None]


def ignore(_: Event) -> None:
    """The ``on_event`` of a caller that wants no events."""
