"""Token prices from LiteLLM's bundled price map, read as JSON: no litellm import needed.

A model that is not in the map is unpriced: its cost is ``None``, never 0.
"""

from __future__ import annotations

import functools
import importlib.util
import json
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


def cost(provider_type: str, litellm_model: str, usage: Usage) -> float | None:
    """Dollar cost of a call, or ``None`` when the model or the usage is unknown."""
    entry = prices(provider_type, litellm_model)
    if entry is None or usage.prompt_tokens is None:
        return None
    prompt = usage.prompt_tokens
    cached = min(usage.cached_tokens or 0, prompt)
    input_rate = float(entry.get("input_cost_per_token") or 0)
    cached_rate = float(entry.get("cache_read_input_token_cost") or input_rate)
    output_rate = float(entry.get("output_cost_per_token") or 0)
    total = (prompt - cached) * input_rate + cached * cached_rate
    total += (usage.completion_tokens or 0) * output_rate
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
