"""A missed prompt cache, and its likely reason.

A call that sends a pack ccw sent to the same endpoint within the endpoint's ``ttlMinutes``
should read it from the provider's prompt cache. When the provider reports no cached tokens,
the likely reason is named: the prefix was below the model's minimum cacheable size, the
provider's own TTL had run out since it was sent, or something before the pack (the system
prompt, the earlier turns) changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ccw.config.providers import kind
from ccw.exec import events, prompt_cache

if TYPE_CHECKING:
    from ccw.exec.executor import Executor, Request
    from ccw.exec.target import CallTarget
    from ccw.result import ExecutionResult


def check(
    runner: Executor,
    request: Request,
    result: ExecutionResult,
    on_event: events.OnEvent,
    now: datetime | None = None,
) -> None:
    """Set ``result.cache_miss`` (and say it on stderr) when the call missed a cache it
    should have hit; the pack's key must be set."""
    target = _target(runner, result)
    if target is None or result.pack_key is None or (result.usage.cached_tokens or 0) > 0:
        return
    strategy = target.endpoint.cache_strategy
    caching = prompt_cache.plan(target)
    if not strategy.enabled or caching.style == "none" or strategy.ttl_minutes <= 0:
        return
    moment = now or datetime.now(UTC)
    sent = _last_sent(result.pack_key, result.endpoint_id, moment, strategy.ttl_minutes)
    if sent is None:
        return
    minutes = dict(kind(target.provider_type).prompt_cache.ttls).get(caching.ttl or "")
    prefix = prompt_cache.prefix_tokens(request)
    reason = _reason(prefix, caching.min_tokens, moment - sent, minutes)
    result.cache_miss = reason
    on_event(
        events.Warning(
            f"{result.endpoint_id} read none of the pack from its prompt cache although it "
            f"was sent {_ago(moment - sent)} ago: {reason}"
        )
    )


def _target(runner: Executor, result: ExecutionResult) -> CallTarget | None:
    """The LiteLLM target that answered (None: a CLI tool, or a fallback endpoint)."""
    from ccw.exec.litellm_executor import LiteLLMExecutor

    if not isinstance(runner, LiteLLMExecutor) or not result.success:
        return None
    return runner.target if result.endpoint_id == runner.endpoint_id else None


def _last_sent(
    pack_key: str, endpoint_id: str | None, now: datetime, ttl_minutes: int
) -> datetime | None:
    """When the pack last went to the endpoint within ``ttl_minutes`` (None: it did not, or
    the history cannot say)."""
    from ccw.errors import CcwError
    from ccw.history import open_history

    try:
        with open_history() as history:
            found = history.last_sent(pack_key, endpoint_id, now - timedelta(minutes=ttl_minutes))
    except CcwError:
        return None
    if found is None:
        return None
    moment = datetime.fromisoformat(str(found["createdAt"]).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _reason(prefix: int, minimum: int | None, since: timedelta, ttl_minutes: int | None) -> str:
    if minimum is not None and prefix < minimum:
        return (
            f"below the model's minimum of {minimum:,} tokens (the pack and what comes "
            f"before it are about {prefix:,})"
        )
    if ttl_minutes is not None and since > timedelta(minutes=ttl_minutes):
        return f"more than {_span(ttl_minutes)} since it was sent (provider TTL)"
    return "different prefix: system prompt or earlier turns changed"


def _span(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes} min"


def _ago(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
