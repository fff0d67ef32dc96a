"""The request shaped for the provider's prompt cache, from the endpoint's ``cacheStrategy``.

Stable content goes first (system prompt, earlier turns, the pack), the question last; then,
per the provider type's style (``ccw.config.providers.PromptCaching``):

- breakpoint (Anthropic, Claude through OpenRouter): a ``cache_control`` mark at the end of
  the pack, and one at the end of the earlier turns of a resumed conversation, each with the
  TTL that covers ``ttlMinutes`` (``5m``, or ``1h`` when ccw keeps packs longer), and each
  only when the prefix it closes reaches the model's minimum cacheable size: below it the
  provider ignores the mark;
- cache_key (OpenAI and OpenAI-compatible): ``prompt_cache_key`` from the pack's hash, so
  calls with the same pack reach the same cache, and ``prompt_cache_retention`` when the
  TTL calls for a longer one the model offers;
- automatic (DeepSeek, Azure, Mistral): nothing to send, their usage tells the hits;
- explicit (Gemini): left to its cached-content hook, no other type's hints.

``cacheStrategy.enabled: false`` sends none of it. Earlier turns come back from the history
as they were sent: their old marks are dropped, so that only this call's stand.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ccw.config.providers import CacheStyle, kind

if TYPE_CHECKING:
    from ccw.exec.executor import Messages, Request
    from ccw.exec.target import CallTarget

CHARS_PER_TOKEN = 4  # the estimate every ccw token count uses


@dataclass(frozen=True)
class Shaped:
    """What one call sends: its messages and the extra LiteLLM arguments of the cache."""

    messages: Messages
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """How a target caches: its style, the smallest prefix cached, the TTL to ask for."""

    style: CacheStyle
    min_tokens: int | None
    ttl: str | None  # the lifetime to ask for
    default_ttl: str | None  # the provider's own, asked for by sending none


@functools.lru_cache(maxsize=8)
def pack_key(pack: str) -> str:
    """The pack's identity: the SHA-256 of its text (the same pack, the same key)."""
    return hashlib.sha256(pack.encode("utf-8", "surrogatepass")).hexdigest()


def minimum_tokens(provider_type: str, litellm_model: str) -> int | None:
    """The smallest prefix the provider caches for the model: LiteLLM's bundled
    ``prompt_cache_min_tokens``, else the registry's value for the model's family."""
    from ccw.exec.pricing import model_info

    entry = model_info(litellm_model)
    found = entry.get("prompt_cache_min_tokens") if entry else None
    if isinstance(found, int) and found > 0:
        return found
    return kind(provider_type).prompt_cache.min_tokens_for(litellm_model)


def plan(target: CallTarget) -> Plan:
    """The target's caching. A routed target over several provider types shapes nothing
    (one type's hints would be refused by another); over one type, the largest minimum of
    its models counts."""
    pairs: list[tuple[str, str]] = [(d.provider.type, d.model) for d in target.deployments]
    pairs = pairs or [(target.provider_type, target.model)]
    types = {provider_type for provider_type, _ in pairs}
    models = tuple(model for _, model in pairs)
    caching = kind(pairs[0][0]).prompt_cache
    styles = {caching.style_for(model) for model in models}
    if len(types) > 1 or len(styles) > 1:
        return Plan("none", None, None, None)
    style = styles.pop()
    minima = [m for m in (minimum_tokens(t, model) for t, model in pairs) if m is not None]
    minutes = target.endpoint.cache_strategy.ttl_minutes
    ttls = {caching.ttl_for(minutes, model) for model in models}
    default = caching.ttls[0][0] if caching.ttls else None
    ttl = ttls.pop() if len(ttls) == 1 else default
    return Plan(style, max(minima) if minima else None, ttl, default)


def shape(target: CallTarget, request: Request) -> Shaped:
    """The messages (system, earlier turns, then pack, separator and prompt) and the extra
    arguments a call on ``target`` sends for its provider's prompt cache."""
    from ccw.context.options import SEPARATOR

    ctx = request.context
    system = [{"role": "system", "content": request.system}] if request.system else []
    prior = [_unmarked(turn) for turn in request.prior]
    head = [*system, *prior]
    pack = ctx.pack if ctx is not None else ""
    prompt = ctx.prompt if ctx is not None else request.prompt
    if not target.endpoint.cache_strategy.enabled:
        return Shaped([*head, _user(pack, SEPARATOR, prompt)])
    caching = plan(target)
    head_tokens = _tokens(head)
    pack_tokens = prefix_tokens(request) - head_tokens
    kwargs: dict[str, Any] = {}
    if caching.style == "breakpoint":
        mark = {"type": "ephemeral", **({"ttl": caching.ttl} if caching.ttl else {})}
        if prior and _reaches(head_tokens, caching):
            head[-1] = _marked(head[-1], mark)
        if pack and _reaches(head_tokens + pack_tokens, caching):
            pack_block = {"type": "text", "text": pack + SEPARATOR, "cache_control": mark}
            user = {"role": "user", "content": [pack_block, {"type": "text", "text": prompt}]}
            return Shaped([*head, user])
    elif caching.style == "cache_key" and pack and _reaches(head_tokens + pack_tokens, caching):
        kwargs["prompt_cache_key"] = "ccw-" + pack_key(pack)[:32]
        if caching.ttl != caching.default_ttl:
            kwargs["prompt_cache_retention"] = caching.ttl
    return Shaped([*head, _user(pack, SEPARATOR, prompt)], kwargs)


def prefix_tokens(request: Request) -> int:
    """About how many tokens come before the question: system prompt, earlier turns, pack
    (the packer's count of the pack)."""
    ctx = request.context
    system = [{"role": "system", "content": request.system}] if request.system else []
    pack = ctx.total_tokens if ctx is not None and ctx.pack else 0
    return _tokens([*system, *request.prior]) + pack


def _reaches(tokens: int, caching: Plan) -> bool:
    return caching.min_tokens is None or tokens >= caching.min_tokens


def _user(pack: str, separator: str, prompt: str) -> dict[str, Any]:
    return {"role": "user", "content": pack + separator + prompt if pack else prompt}


def _tokens(turns: Messages) -> int:
    """About how many tokens the turns are (four characters each)."""
    chars = 0
    for turn in turns:
        content = turn.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(str(b.get("text", ""))) for b in content if isinstance(b, dict))
    return chars // CHARS_PER_TOKEN


def _unmarked(turn: dict[str, Any]) -> dict[str, Any]:
    """A turn without the cache marks an earlier call put on it."""
    content = turn.get("content")
    if not isinstance(content, list) or not any(
        isinstance(b, dict) and "cache_control" in b for b in content
    ):
        return turn
    blocks = [
        {k: v for k, v in b.items() if k != "cache_control"} if isinstance(b, dict) else b
        for b in content
    ]
    return {**turn, "content": blocks}


def _marked(turn: dict[str, Any], mark: dict[str, str]) -> dict[str, Any]:
    """The turn with a cache mark on its last text block (a string becomes one block)."""
    content = turn.get("content")
    if isinstance(content, str):
        return {**turn, "content": [{"type": "text", "text": content, "cache_control": mark}]}
    if isinstance(content, list) and content and isinstance(content[-1], dict):
        return {**turn, "content": [*content[:-1], {**content[-1], "cache_control": mark}]}
    return turn
