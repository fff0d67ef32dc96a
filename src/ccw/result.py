"""The result of one call, LiteLLM or tool: the spec's shape plus usage, cost and timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return {
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "cachedTokens": self.cached_tokens,
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
            "durationMs": self.duration_ms,
            "id": self.id,
            "warnings": list(self.warnings),
            "finishReason": self.finish_reason,
            "parentId": self.parent_id,
            "conversationId": self.conversation_id,
            "deployment": self.deployment,
            "fallbackFrom": list(self.fallback_from) if self.fallback_from else None,
        }
