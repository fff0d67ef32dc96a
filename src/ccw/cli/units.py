"""Numbers as a terminal shows them: durations, counts with their noun, costs."""

from __future__ import annotations


def duration(ms: int | float) -> str:
    """``0.4 s``, ``3.2 s``, ``42 s``, ``3 min``, ``3 min 12 s``, ``1 h 5 min``."""
    seconds = ms / 1000
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files``."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def cost(value: float | None, unknown: str = "cost unknown") -> str:
    """``$0`` for free, ``$0.000123`` otherwise; ``unknown`` when there is no price."""
    if value is None:
        return unknown
    if value == 0:
        return "$0"
    return f"${value:.6f}"
