"""The text of ``ccw cli``'s status line, without Typer or Rich: the fast entry
(``ccw.cli.warm_fast``) prints the same line as the full app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccw.cli import units

if TYPE_CHECKING:
    from ccw.result import ExecutionResult


def status_line(result: ExecutionResult) -> str:
    """``gpt · 1.2 s · 12 in / 7 out · 1 file packed · $0.000120``; a call the provider's
    prompt cache served splits its input: ``12.1k cached · 0.4k new · 310 out`` (and
    ``3.2k written (1h)`` for a cache write), with what the cache saved after the cost."""
    parts = [units.duration(result.duration_ms)]
    usage = result.usage
    if usage.prompt_tokens is not None:
        parts.append(_tokens_part(result))
    if result.cached_files:
        state = "reused" if result.cache_used else "packed"
        parts.append(f"{units.count(len(result.cached_files), 'file')} {state}")
    parts.append(units.cost(result.cost) + _saved_part(result))
    return " · ".join([result.endpoint_id or result.tool, *parts])


def _tokens_part(result: ExecutionResult) -> str:
    usage = result.usage
    read, written = usage.cached_tokens or 0, usage.cache_write_tokens or 0
    if not read and not written:
        return f"{usage.prompt_tokens} in / {usage.completion_tokens} out"
    new = usage.uncached_tokens or 0
    kilo = max(read, written, new) >= 1000

    def amount(n: int) -> str:
        return f"{n / 1000:.1f}k" if kilo else str(n)

    split = [f"{amount(read)} cached"] if read else []
    if written:
        ttl = f" ({usage.cache_write_ttl})" if usage.cache_write_ttl else ""
        split.append(f"{amount(written)} written{ttl}")
    split += [f"{amount(new)} new", f"{usage.completion_tokens} out"]
    return " · ".join(split)


def _saved_part(result: ExecutionResult) -> str:
    """``, saved $0.031`` (or what a cache write cost over plain input); empty when the
    cache changed nothing or the call is unpriced."""
    if result.cost is None or result.cost_uncached is None:
        return ""
    difference = round(result.cost_uncached - result.cost, 8)
    if difference > 0:
        return f", saved {units.cost(difference)}"
    if difference < 0:
        return f", {units.cost(-difference)} more for the cache write"
    return ""
