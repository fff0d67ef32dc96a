"""The packing knobs, each defined once: formats, overflow and token modes, the separator
between a pack and its prompt, and ``PackOptions``, what ``ccw pack`` and a call share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from ccw.errors import UsageError

Format = Literal["xml", "markdown", "plain"]
Overflow = Literal["skip", "fail"]
TokenMode = Literal["estimate", "exact"]

FORMATS: tuple[Format, ...] = get_args(Format)
OVERFLOWS: tuple[Overflow, ...] = get_args(Overflow)
TOKEN_MODES: tuple[TokenMode, ...] = get_args(TokenMode)

# Between the pack and the prompt in the text a model receives.
SEPARATOR = "\n\n---\n\n"


def parse_format(value: str) -> Format:
    """``value`` as a pack format; anything else is a usage error naming the choices."""
    for known in FORMATS:
        if value == known:
            return known
    raise UsageError(f"unknown format {value!r}", f"use one of: {', '.join(FORMATS)}")


def parse_overflow(value: str) -> Overflow:
    for known in OVERFLOWS:
        if value == known:
            return known
    raise UsageError(f"unknown --on-overflow {value!r}", "use skip or fail")


def parse_token_mode(value: str) -> TokenMode:
    for known in TOKEN_MODES:
        if value == known:
            return known
    raise UsageError(f"unknown --tokens {value!r}", "use estimate or exact")


@dataclass(frozen=True)
class PackOptions:
    """How to pack, as ``ccw pack`` and ``ccw cli`` take it from the command line.

    ``None`` means "as the config says": ``exclude_dirs`` falls back to
    ``globalCacheSettings.excludeDirs``, the limits to the endpoint's ``cacheStrategy``.
    ``use_cache=False`` packs fresh and stores nothing; a disabled cache in the config wins
    over ``True``.
    """

    fmt: Format = "xml"
    on_overflow: Overflow = "skip"
    allow_secrets: bool = False
    tokens: TokenMode = "estimate"
    include_dirs: tuple[Path, ...] = ()
    exclude_dirs: tuple[str, ...] | None = None
    use_cache: bool = True
    max_total_bytes: int | None = None
    max_files: int | None = None
    # A pattern that matches no file is an error unless this is set (``--allow-empty``).
    allow_empty: bool = False
    # Shrink the pack to the model's context window (``--fit``, ``ccw.context.fit``).
    fit: bool = False
