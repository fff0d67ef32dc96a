"""The result of one call, LiteLLM or tool: the spec's shape plus usage, cost and timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Usage:
    """Tokens of one call, as the provider reported them (normalised by LiteLLM).

    ``prompt_tokens`` is every input token; of those, ``cached_tokens`` were read from the
    provider's prompt cache and ``cache_write_tokens`` were written to it (with the TTL the
    write was billed at, ``"5m"`` or ``"1h"``); the rest were plain input.
    """

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_write_ttl: str | None = None

    @property
    def uncached_tokens(self) -> int | None:
        """Input tokens billed at the plain input price."""
        if self.prompt_tokens is None:
            return None
        cached = (self.cached_tokens or 0) + (self.cache_write_tokens or 0)
        return max(self.prompt_tokens - cached, 0)

    def to_dict(self) -> dict[str, int | str | None]:
        return {
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "cachedTokens": self.cached_tokens,
            "cacheWriteTokens": self.cache_write_tokens,
            "cacheWriteTtl": self.cache_write_ttl,
            "uncachedTokens": self.uncached_tokens,
        }


@dataclass
class ExecutionResult:
    """``{success, output, model, provider, cacheUsed, cachedFiles, error}`` and more.

    ``cost`` is ``None`` when the model is not priced: unknown is never reported as 0.
    """

    success: bool
    output: str = ""
    model: str = ""
    provider: str = ""
    cache_used: bool = False
    cached_files: list[str] = field(default_factory=list)
    error: str | None = None
    fix: str | None = None
    error_kind: str | None = None
    exit_code: int = 0
    endpoint_id: str | None = None
    tool: str = "litellm"
    mode: str = "analysis"
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    # What the same call would have cost with no prompt cache (None: unpriced).
    cost_uncached: float | None = None
    # Who priced it: "litellm" (LiteLLM's bundled prices) or "proxy" (a LiteLLM proxy's
    # response-cost header); None when unpriced.
    cost_source: str | None = None
    # A pack sent again within its TTL that the provider did not read from its cache: why.
    cache_miss: str | None = None
    # The packed context's identity (its content hash), None without a pack: the ledger's
    # link between calls that sent the same pack.
    pack_key: str | None = None
    duration_ms: int = 0
    id: str | None = None
    warnings: list[str] = field(default_factory=list)
    # Why the model stopped ("stop", "length", ...); "length" means cut by max_tokens.
    finish_reason: str | None = None
    # The call this one continued, and the conversation (its first call's id): set when
    # the history records it.
    parent_id: str | None = None
    conversation_id: str | None = None
    # A routed call: the ``provider/key`` id that answered (never the key itself).
    deployment: str | None = None
    # Endpoints the call left, in order, before the one that answered (``fallbacks``).
    fallback_from: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "output": self.output,
            "model": self.model,
            "provider": self.provider,
            "cacheUsed": self.cache_used,
            "cachedFiles": list(self.cached_files),
            "error": self.error,
            "fix": self.fix,
            "errorKind": self.error_kind,
            "exitCode": self.exit_code,
            "endpointId": self.endpoint_id,
            "tool": self.tool,
            "mode": self.mode,
            "usage": self.usage.to_dict(),
            "cost": self.cost,
            "costUncached": self.cost_uncached,
            "saved": (
                round(self.cost_uncached - self.cost, 8)
                if self.cost is not None and self.cost_uncached is not None
                else None
            ),
            "costSource": self.cost_source,
            "cacheMiss": self.cache_miss,
            "packKey": self.pack_key,
            "durationMs": self.duration_ms,
            "id": self.id,
            "warnings": list(self.warnings),
            "finishReason": self.finish_reason,
            "parentId": self.parent_id,
            "conversationId": self.conversation_id,
            "deployment": self.deployment,
            "fallbackFrom": list(self.fallback_from) if self.fallback_from else None,
        }
