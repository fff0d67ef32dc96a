"""Model parameters a call may set (``-o KEY VALUE``): the known keys, typed and checked.

The values go into ``Request.options`` as Python values of the right type, so that an
executor passes them on as they are. ``stop`` may be given several times (a list); every
other key once, the last one winning, as with ``llm``'s ``-o``. Keys are written in
snake_case; the config's camelCase (``maxTokens``) is accepted too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ccw.errors import UsageError


@dataclass(frozen=True)
class OptionSpec:
    """One known key: what its value is and the range it must lie in."""

    kind: type
    help: str
    low: float | None = None
    high: float | None = None


KNOWN: dict[str, OptionSpec] = {
    "temperature": OptionSpec(float, "sampling temperature", 0, 2),
    "max_tokens": OptionSpec(int, "most tokens the answer may have", 1, None),
    "top_p": OptionSpec(float, "nucleus sampling mass", 0, 1),
    "seed": OptionSpec(int, "sampling seed, for repeatable answers", None, None),
    "stop": OptionSpec(str, "a text that ends the answer (repeatable)"),
    "presence_penalty": OptionSpec(float, "penalty for tokens already present", -2, 2),
    "frequency_penalty": OptionSpec(float, "penalty for frequent tokens", -2, 2),
}
REPEATABLE = frozenset({"stop"})


def known_keys() -> str:
    """The keys, for a help text or an error message."""
    return ", ".join(KNOWN)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key.strip()).lower().replace("-", "_")


def _typed(key: str, spec: OptionSpec, raw: str) -> Any:
    convert: Callable[[str], Any] = spec.kind
    try:
        value = convert(raw)
    except ValueError:
        shape = "an integer" if spec.kind is int else "a number"
        raise UsageError(
            f"-o {key} takes {shape}, not {raw!r}", f"e.g. -o {key} {_example(spec)}"
        ) from None
    if spec.kind is str and not value:
        raise UsageError(f"-o {key} needs a non-empty value")
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        bounds = (
            f"between {spec.low:g} and {spec.high:g}"
            if spec.low is not None and spec.high is not None
            else f"at least {spec.low:g}"
            if spec.low is not None
            else f"at most {spec.high:g}"
        )
        raise UsageError(f"-o {key} must be {bounds}, not {raw}")
    return value


def _example(spec: OptionSpec) -> str:
    if spec.kind is int:
        return "256"
    return "0.2" if spec.high is None or spec.high <= 2 else "1"


def parse_options(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``-o KEY VALUE`` pairs as a dict of typed values; an unknown key or a bad value is a
    ``UsageError`` naming the known keys or the expected shape."""
    options: dict[str, Any] = {}
    for raw_key, raw in pairs:
        key = _snake(raw_key)
        spec = KNOWN.get(key)
        if spec is None:
            raise UsageError(f"unknown model option {raw_key!r}", f"known options: {known_keys()}")
        value = _typed(key, spec, raw)
        if key in REPEATABLE:
            options.setdefault(key, []).append(value)
        else:
            options[key] = value
    return options
