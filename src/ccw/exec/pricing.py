"""Token prices from LiteLLM's bundled price map, read as JSON: no litellm import needed.

A call's cost is split the way providers bill it: plain input, cache writes (at the price of
their TTL: ``cache_creation_input_token_cost``, or ``..._above_1hr`` for a one-hour write),
cache reads (``cache_read_input_token_cost``) and output. A price the map leaves out is the
plain input price (a provider that bills no cache discount). ``uncached_cost`` is the same
tokens at the plain input price: what the call would have cost with no prompt cache.
A model that is not in the map is unpriced: its cost is ``None``, never 0.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccw.config.providers import kind
from ccw.result import Usage


@functools.cache
def _price_map() -> dict[str, Any]:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(spec.submodule_search_locations[0]) / "model_prices_and_context_window_backup.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def prices(provider_type: str, litellm_model: str) -> dict[str, Any] | None:
    """The price entry of a model, or ``None`` when it is not priced."""
    if not kind(provider_type).priced:
        return None
    table = _price_map()
    bare = litellm_model.split("/", 1)[1] if "/" in litellm_model else litellm_model
    for key in (litellm_model, bare):
        entry = table.get(key)
        if isinstance(entry, dict) and "input_cost_per_token" in entry:
            return entry
    return None


@dataclass(frozen=True)
class Rates:
    """Dollars per token of one model, as its provider bills each kind of token."""

    input: float
    output: float
    cache_read: float
    cache_write: float  # a write kept the provider's default time (5 minutes)
    cache_write_1h: float  # a write kept one hour

    def write(self, ttl: str | None) -> float:
        return self.cache_write_1h if ttl == "1h" else self.cache_write


def rates(provider_type: str, litellm_model: str) -> Rates | None:
    """The model's prices, or ``None`` when it is not priced."""
    entry = prices(provider_type, litellm_model)
    if entry is None:
        return None

    def rate(name: str, default: float) -> float:
        value = entry.get(name)
        return float(value) if isinstance(value, int | float) else default

    plain = rate("input_cost_per_token", 0.0)
    write = rate("cache_creation_input_token_cost", plain)
    return Rates(
        input=plain,
        output=rate("output_cost_per_token", 0.0),
        cache_read=rate("cache_read_input_token_cost", plain),
        cache_write=write,
        cache_write_1h=rate("cache_creation_input_token_cost_above_1hr", write),
    )


def cost(provider_type: str, litellm_model: str, usage: Usage) -> float | None:
    """Dollar cost of a call, or ``None`` when the model or the usage is unknown."""
    found = rates(provider_type, litellm_model)
    if found is None or usage.prompt_tokens is None:
        return None
    prompt = usage.prompt_tokens
    read = min(usage.cached_tokens or 0, prompt)
    written = min(usage.cache_write_tokens or 0, prompt - read)
    total = (prompt - read - written) * found.input
    total += read * found.cache_read + written * found.write(usage.cache_write_ttl)
    total += (usage.completion_tokens or 0) * found.output
    return round(total, 8)


def uncached_cost(provider_type: str, litellm_model: str, usage: Usage) -> float | None:
    """What the call would have cost with no prompt cache: every input token at the plain
    price (``None`` when unpriced)."""
    found = rates(provider_type, litellm_model)
    if found is None or usage.prompt_tokens is None:
        return None
    total = usage.prompt_tokens * found.input + (usage.completion_tokens or 0) * found.output
    return round(total, 8)


def input_cost(provider_type: str, litellm_model: str, tokens: int) -> float | None:
    """Estimated cost of sending ``tokens`` prompt tokens (for ``--dry-run``)."""
    return cost(provider_type, litellm_model, Usage(prompt_tokens=tokens, completion_tokens=0))


def model_info(litellm_model: str) -> dict[str, Any] | None:
    """LiteLLM's bundled entry for a model (prices, context window), priced or not."""
    table = _price_map()
    bare = litellm_model.split("/", 1)[1] if "/" in litellm_model else litellm_model
    for key in (litellm_model, bare):
        entry = table.get(key)
        if isinstance(entry, dict):
            return entry
    return None


def context_window(litellm_model: str) -> int | None:
    """How many input tokens the model takes, from LiteLLM's bundled data, or ``None``."""
    entry = model_info(litellm_model)
    if entry is None:
        return None
    for field in ("max_input_tokens", "max_tokens"):
        value = entry.get(field)
        if isinstance(value, int) and value > 0:
            return value
    return None
