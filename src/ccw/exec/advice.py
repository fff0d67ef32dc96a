"""Advice before sending (``--dry-run``): per endpoint a call may reach, whether the pack
fits the model's window, whether it clears the provider's minimum cacheable size, what the
first call (the cache write) and each repeat (a cache read) cost, and after how many calls
caching pays back, for the endpoint's TTL.

Read from the config alone: no key, no LiteLLM. The candidates are the endpoint itself and
each of its ``fallbacks``, or each provider of a model pool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ccw.config.effective import effective_config, find_endpoint, find_provider
from ccw.config.providers import CacheStyle, kind
from ccw.config.schema import CacheStrategy, Config, Provider
from ccw.errors import CcwError
from ccw.exec import pricing

# What each style means to a user, for the advice line.
STYLE_NOTES: dict[CacheStyle, str] = {
    "breakpoint": "a cache breakpoint after the pack",
    "cache_key": "automatic, keyed by the pack's hash",
    "automatic": "automatic",
    "explicit": "a cached-content object for the pack",
    "none": "no prompt cache",
}


@dataclass(frozen=True)
class Candidate:
    """One endpoint (or pool member) a call may be sent to."""

    role: str  # "endpoint", "fallback" or "pool member"
    endpoint_id: str
    provider_id: str
    provider_type: str
    model: str  # LiteLLM's model string
    context_window: int | None
    ttl_minutes: int
    caching: bool  # the endpoint's cacheStrategy.enabled
    embedded: bool


@dataclass(frozen=True)
class Advice:
    """What sending the pack to one candidate means, in tokens and dollars (None: unpriced
    or unknown)."""

    candidate: Candidate
    input_tokens: int
    pack_tokens: int  # the prefix a provider's cache may hold
    fits: bool | None
    style: CacheStyle
    min_tokens: int | None
    clears_minimum: bool | None
    ttl: str | None
    uncached_call: float | None
    first_call: float | None  # the cache write
    repeat_call: float | None  # a cache read, within the TTL
    break_even: int | None  # calls within the TTL after which caching has paid back

    def to_dict(self) -> dict[str, object]:
        c = self.candidate
        return {
            "role": c.role,
            "endpointId": c.endpoint_id,
            "provider": c.provider_id,
            "providerType": c.provider_type,
            "model": c.model,
            "contextWindow": c.context_window,
            "fits": self.fits,
            "inputTokens": self.input_tokens,
            "packTokens": self.pack_tokens,
            "cacheStyle": self.style,
            "minCacheableTokens": self.min_tokens,
            "clearsMinimum": self.clears_minimum,
            "ttl": self.ttl,
            "ttlMinutes": c.ttl_minutes,
            "uncachedCallCost": self.uncached_call,
            "firstCallCost": self.first_call,
            "repeatCallCost": self.repeat_call,
            "breakEvenCalls": self.break_even,
        }


def candidates(config: Config, endpoint_id: str | None) -> list[Candidate]:
    """The endpoints a LiteLLM call on ``endpoint_id`` (None: the default) may reach, in the
    order it tries them; empty when the id names nothing (the call reports that)."""
    from ccw.exec.target import choose_endpoint

    effective = effective_config(config)
    pool = effective.pool(endpoint_id) if endpoint_id else None
    if pool is not None and effective.endpoint(endpoint_id or "") is None:
        from ccw.exec.deployments import pool_members

        try:
            members = pool_members(effective, pool)
        except CcwError:
            return []
        ttl = CacheStrategy().ttl_minutes  # a pool has no cacheStrategy of its own
        return [
            _candidate(config, "pool member", pool.id, provider, model, ttl, True)
            for provider, _, model in members
        ]
    try:
        endpoint = choose_endpoint(effective, endpoint_id)
    except CcwError:
        return []
    found: list[Candidate] = []
    chain = {endpoint.id: "endpoint"}
    for fallback in endpoint.fallbacks or ():
        chain.setdefault(fallback, "fallback")  # the call tries each endpoint once
    for eid, role in chain.items():
        try:
            chosen = find_endpoint(effective, eid)
            provider = find_provider(effective, chosen.provider_id)
        except CcwError:
            continue
        strategy = chosen.cache_strategy
        found.append(
            _candidate(
                config, role, chosen.id, provider, chosen.model, strategy.ttl_minutes,
                strategy.enabled,
            )
        )  # fmt: skip
    return found


def _candidate(
    config: Config,
    role: str,
    endpoint_id: str,
    provider: Provider,
    model: str,
    ttl_minutes: int,
    caching: bool,
) -> Candidate:
    spec = kind(provider.type)
    litellm_model = spec.litellm_model(model)
    definition = provider.model_definition(model)
    found = definition.capabilities if definition is not None else None
    window = found.context_window if found is not None else None
    if spec.embedded:
        window = config.local.context_size
    elif window is None:
        window = pricing.context_window(litellm_model)
    return Candidate(
        role, endpoint_id, provider.id, provider.type, litellm_model, window, ttl_minutes,
        caching, spec.embedded,
    )  # fmt: skip


def advise(candidate: Candidate, input_tokens: int, pack_tokens: int) -> Advice:
    """The advice for sending ``input_tokens`` (of which ``pack_tokens`` are the cacheable
    prefix) to ``candidate``."""
    from ccw.exec.prompt_cache import minimum_tokens

    window = candidate.context_window
    fits = None if window is None else input_tokens <= window
    spec = kind(candidate.provider_type)
    style: CacheStyle = "none"
    if candidate.caching:
        style = spec.prompt_cache.style_for(candidate.model)
    minimum = minimum_tokens(candidate.provider_type, candidate.model) if style != "none" else None
    clears = None if style == "none" else (minimum is None or pack_tokens >= minimum)
    ttl = spec.prompt_cache.ttl_for(candidate.ttl_minutes, candidate.model) if clears else None
    if candidate.embedded:
        return Advice(candidate, input_tokens, pack_tokens, fits, "none", None, None, None,
                      0.0, 0.0, 0.0, None)  # fmt: skip
    rates = pricing.rates(candidate.provider_type, candidate.model)
    if rates is None:
        return Advice(candidate, input_tokens, pack_tokens, fits, style, minimum, clears, ttl,
                      None, None, None, None)  # fmt: skip
    rest = max(input_tokens - pack_tokens, 0)
    uncached = input_tokens * rates.input
    if not clears:
        first = repeat = uncached
    else:
        first = pack_tokens * rates.write(ttl) + rest * rates.input
        repeat = pack_tokens * rates.cache_read + rest * rates.input
    return Advice(
        candidate, input_tokens, pack_tokens, fits, style, minimum, clears, ttl,
        round(uncached, 8), round(first, 8), round(repeat, 8),
        _break_even(first, repeat, uncached) if clears else None,
    )  # fmt: skip


def _break_even(first: float, repeat: float, uncached: float) -> int | None:
    """The fewest calls ``n`` for which ``first + (n - 1) * repeat <= n * uncached``
    (None: never, when a read costs as much as sending the pack again)."""
    if first <= uncached:
        return 1
    if repeat >= uncached:
        return None
    return max(1, math.ceil((first - repeat) / (uncached - repeat) - 1e-12))
