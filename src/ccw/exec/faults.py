"""Provider faults, classified: each kind has a message, a fix, an exit code and a retry rule."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ccw.errors import CcwError, ExitCode


@dataclass(frozen=True)
class FaultKind:
    name: str
    exit_code: int
    retryable: bool
    fix: str


AUTHENTICATION = FaultKind(
    "authentication", ExitCode.AUTH, False, "check the provider's key: ccw provider show ID"
)
RATE_LIMIT = FaultKind(
    "rate_limit", ExitCode.RATE_LIMIT, True, "wait and retry, or raise the provider's limits"
)
BAD_REQUEST = FaultKind(
    "bad_request",
    ExitCode.BAD_REQUEST,
    False,
    "check the endpoint's model name and the prompt size",
)
NOT_FOUND = FaultKind(
    "not_found", ExitCode.BAD_REQUEST, False, "check the endpoint's model name and the apiBase"
)
SERVER_ERROR = FaultKind(
    "server_error", ExitCode.SERVER_ERROR, True, "the provider failed; retry later"
)
TIMEOUT = FaultKind("timeout", ExitCode.TIMEOUT, True, "raise --timeout or the provider's timeout")
UNREACHABLE = FaultKind(
    "unreachable", ExitCode.UNREACHABLE, True, "check the provider's apiBase and that it is running"
)
STREAM_CUT = FaultKind(
    "stream_cut", ExitCode.STREAM_CUT, False, "the answer stopped midway; run the call again"
)
BAD_RESPONSE = FaultKind(
    "bad_response", ExitCode.SERVER_ERROR, True, "the provider sent a reply ccw cannot read"
)


class ProviderFault(CcwError):
    """A call that reached (or tried to reach) the provider and failed."""

    def __init__(self, kind: FaultKind, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{kind.name.replace('_', ' ')}: {detail}", kind.fix)
        self.kind = kind
        self.exit_code = kind.exit_code
        self.status = 502
        self.retry_after = retry_after


_NOISE = re.compile(r"^(litellm\.)?\w+(Error|Exception)?:\s*|\w+Exception\s*-\s*")


def _clean(message: str, secret: str | None) -> str:
    text = str(message).strip()
    for _ in range(4):
        stripped = _NOISE.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    if secret:
        from ccw.config.secrets import mask

        text = text.replace(secret, mask(secret) or "")
    text = " ".join(text.split())
    return text[:400] + ("…" if len(text) > 400 else "")


def _retry_after(exc: BaseException) -> float | None:
    headers: dict[str, str] = {}
    for source in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "headers", None),
    ):
        if source:
            try:
                headers.update({str(k).lower(): str(v) for k, v in dict(source).items()})
            except (TypeError, ValueError):
                continue
    value = headers.get("retry-after")
    if value is None and "retry-after-ms" in headers:
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            return None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _transport_kind(exc: BaseException) -> FaultKind | None:
    """Connection faults hide under 500-class LiteLLM errors; the httpx cause tells."""
    import httpx

    for item in _chain(exc):
        if isinstance(item, httpx.TimeoutException):
            return TIMEOUT
        if isinstance(item, httpx.ConnectError | ConnectionRefusedError):
            return UNREACHABLE
    return None


def _kind(exc: BaseException) -> FaultKind:
    import litellm

    status = getattr(exc, "status_code", None)
    text = str(exc).lower()
    if isinstance(exc, litellm.Timeout):
        return TIMEOUT
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
        return AUTHENTICATION
    if isinstance(exc, litellm.RateLimitError):
        return RATE_LIMIT
    if isinstance(exc, litellm.NotFoundError):
        return NOT_FOUND
    if isinstance(exc, litellm.BadRequestError | litellm.UnprocessableEntityError):
        return BAD_REQUEST
    transport = _transport_kind(exc)
    if transport is not None:
        return transport
    if "jsondecodeerror" in text or "expecting value" in text or "invalid json" in text:
        return BAD_RESPONSE
    if isinstance(exc, litellm.APIConnectionError):
        return TIMEOUT if "timed out" in text else UNREACHABLE
    if status in (401, 403):
        return AUTHENTICATION
    if status == 429:
        return RATE_LIMIT
    if isinstance(status, int) and 400 <= status < 500:
        return BAD_REQUEST
    return SERVER_ERROR


def classify(exc: BaseException, *, secret: str | None = None, where: str = "") -> ProviderFault:
    """Map a LiteLLM (or httpx) exception to a ``ProviderFault``; never leaks ``secret``."""
    detail = _clean(getattr(exc, "message", None) or str(exc) or type(exc).__name__, secret)
    if where:
        detail = f"{where}: {detail}"
    return ProviderFault(_kind(exc), detail, retry_after=_retry_after(exc))
