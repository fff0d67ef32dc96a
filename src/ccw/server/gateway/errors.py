"""Errors in the shapes OpenAI's and Anthropic's clients read, so their retry logic works.

OpenAI: ``{"error": {"message", "type", "param", "code"}}``. Anthropic:
``{"type": "error", "error": {"type", "message"}}``. A rate limit is 429 (with
``Retry-After`` when known), an unknown model 404, a missing token 401.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

Wire = Literal["openai", "anthropic"]
ANTHROPIC_PATH = "/v1/messages"  # the one route that answers in Anthropic's shape

# The HTTP status of each error kind (``ExecutionResult.error_kind`` or ``CcwError.kind``).
STATUS_BY_KIND: dict[str, int] = {
    "usage": 400,
    "bad_request": 400,
    "authentication": 502,  # the provider refused ccw's key: not the client's fault
    "missing_key": 500,
    "env_not_allowed": 500,
    "config": 500,
    "not_found": 404,
    "disabled": 404,
    "rate_limit": 429,
    "budget": 402,
    "timeout": 504,
    "unreachable": 502,
    "server_error": 502,
    "bad_response": 502,
    "stream_cut": 502,
    "redirect_refused": 502,
    "redirect_loop": 502,
    "interrupted": 499,
}
OPENAI_TYPE: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}
ANTHROPIC_TYPE: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    504: "timeout_error",
}


@dataclass
class GatewayError(Exception):
    """One refusal: status, message (with the fix), the error kind and when to retry."""

    status: int
    message: str
    kind: str = "error"
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.message


def from_kind(
    kind: str | None, message: str, fix: str | None = None, retry_after: float | None = None
) -> GatewayError:
    """The refusal of a ccw error kind; a ``budget...`` kind is a 402 naming the budget.
    ``retry_after``: the provider's wait, sent on as ``Retry-After``."""
    name = kind or "server_error"
    status = STATUS_BY_KIND.get(name) or (402 if "budget" in name else 500)
    text = f"{message} ({fix})" if fix else message
    return GatewayError(status, text, name, retry_after)


def body(error: GatewayError, wire: Wire) -> dict[str, Any]:
    if wire == "anthropic":
        kind = ANTHROPIC_TYPE.get(error.status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": error.message}}
    return {
        "error": {
            "message": error.message,
            "type": OPENAI_TYPE.get(error.status, "server_error"),
            "param": None,
            "code": error.kind,
        }
    }


def headers(error: GatewayError) -> dict[str, str]:
    if error.retry_after:
        return {"Retry-After": str(math.ceil(error.retry_after))}
    return {}
