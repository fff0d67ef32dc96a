"""Provider faults, classified: each kind has a message, a fix, an exit code and a retry rule.

A call (``classify``, ``from_error_body``) and a connection test (``ccw.exec.probe``) name
their failures with the same ``FaultKind`` names.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ccw.errors import CcwError, ExitCode
from ccw.exec import redact


@dataclass(frozen=True)
class FaultKind:
    """One class of provider failure: its stable ``name`` is the error's ``kind``."""

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
# Why a connection failed decides the retry: a name that does not resolve or a TLS handshake
# that fails will fail the same way in a second; a refused port may be a server starting up.
DNS_FAILURE = FaultKind(
    "unreachable", ExitCode.UNREACHABLE, False, "check the host name in the provider's apiBase"
)
TLS_FAILURE = FaultKind(
    "unreachable", ExitCode.UNREACHABLE, False, "check the scheme and certificate of the apiBase"
)
STREAM_CUT = FaultKind(
    "stream_cut", ExitCode.STREAM_CUT, False, "the answer stopped midway; run the call again"
)
BAD_RESPONSE = FaultKind(
    "bad_response", ExitCode.SERVER_ERROR, True, "the provider sent a reply ccw cannot read"
)
REDIRECT_REFUSED = FaultKind(
    "redirect_refused",
    ExitCode.SERVER_ERROR,
    False,
    "if you trust the new address, make it the provider's apiBase: "
    "ccw provider update ID --api-base URL",
)
REDIRECT_LOOP = FaultKind(
    "redirect_loop",
    ExitCode.SERVER_ERROR,
    False,
    "the provider redirects in a circle; check the provider's apiBase",
)


class ProviderFault(CcwError):
    """A call that reached (or tried to reach) the provider and failed.

    ``fault`` is the ``FaultKind``; ``kind`` its name, as for every ``CcwError``.
    """

    def __init__(
        self,
        fault: FaultKind,
        detail: str,
        *,
        retry_after: float | None = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(f"{fault.name.replace('_', ' ')}: {detail}", fix or fault.fix)
        self.fault = fault
        self.kind = fault.name
        self.exit_code = fault.exit_code
        self.retry_after = retry_after


_NOISE = re.compile(r"^(litellm\.)?\w+(Error|Exception)?:\s*|\w+Exception\s*-\s*")
# LiteLLM's advice to its own callers, appended to messages ("Handle with `litellm.X`").
_ADVICE = re.compile(r"\.?\s*(Handle with `?litellm\.\w+`?|LiteLLM Retried: \d+ times?)\.?", re.I)


def _clean(message: str, secrets: tuple[str, ...]) -> str:
    """One line of at most 400 characters, LiteLLM's class-name prefixes dropped, every secret
    masked (before the cut, so that no half of a secret survives it)."""
    text = str(message).strip()
    for _ in range(4):
        stripped = _NOISE.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    text = _ADVICE.sub("", text)
    text = redact.scrub(" ".join(text.split()), secrets) or ""
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

    from ccw.exec.http_guard import RedirectRefused

    for item in _chain(exc):
        if isinstance(item, RedirectRefused):
            return REDIRECT_REFUSED
        if isinstance(item, httpx.TooManyRedirects):
            return REDIRECT_LOOP
        if isinstance(item, httpx.TimeoutException):
            return TIMEOUT
        if isinstance(item, httpx.ConnectError | ConnectionRefusedError):
            return UNREACHABLE
    return None


def _fault_of(exc: BaseException) -> FaultKind:
    from litellm import exceptions as litellm

    status = getattr(exc, "status_code", None)
    text = str(exc).lower()
    guarded = _guard_kind(exc)
    if guarded is not None:
        return guarded
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


def _guard_kind(exc: BaseException) -> FaultKind | None:
    """A refused or circular redirect, wherever LiteLLM wrapped it."""
    kind = _transport_kind(exc)
    return kind if kind in (REDIRECT_REFUSED, REDIRECT_LOOP) else None


def _redirect_detail(exc: BaseException) -> str | None:
    from ccw.exec.http_guard import RedirectRefused

    for item in _chain(exc):
        if isinstance(item, RedirectRefused):
            return (
                f"{item.source} redirected the call to {item.target}; ccw does not send "
                "credentials to another origin"
            )
    return None


def classify(
    exc: BaseException, *, secrets: tuple[str, ...] = (), where: str = ""
) -> ProviderFault:
    """Map a LiteLLM (or httpx) exception to a ``ProviderFault``; never leaks ``secrets``."""
    kind = _fault_of(exc)
    if kind is UNREACHABLE or kind is TIMEOUT:
        failure = connect_failure(exc, secrets=secrets, provider_id=where or None)
        if failure is not None:
            detail = f"{where}: {failure.detail}" if where else failure.detail
            return ProviderFault(failure.kind, detail, fix=failure.fix)
    if kind is REDIRECT_REFUSED:
        detail = _redirect_detail(exc) or "a redirect to another origin was refused"
    elif kind is REDIRECT_LOOP:
        detail = "too many redirects (a redirect loop)"
    else:
        raw = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        detail = _clean(raw, secrets)
    if where:
        detail = f"{where}: {detail}"
    wait = _retry_after(exc)
    if kind is RATE_LIMIT and wait is not None:
        seconds = math.ceil(wait)
        return ProviderFault(
            kind,
            f"{detail} (the provider asks to wait {seconds} s: Retry-After)",
            retry_after=wait,
            fix=f"retry in {seconds} s, or raise the provider's limits",
        )
    return ProviderFault(kind, detail, retry_after=wait)


@dataclass(frozen=True)
class ConnectFailure:
    """An unreachable provider, explained: its kind (which decides the retry), a detail
    naming the URL and the root cause, and the fix for that cause."""

    kind: FaultKind
    detail: str
    fix: str


def connect_failure(
    exc: BaseException, *, secrets: tuple[str, ...] = (), provider_id: str | None = None
) -> ConnectFailure | None:
    """Why ``exc`` could not connect (DNS, refused, TLS, network), or None if it is not a
    connection failure. ``provider_id`` makes the fix a command."""
    from ccw.exec import netcause

    found = netcause.diagnose(exc)
    if found is None:
        return None
    url = redact.scrub(found.url, secrets) if found.url else None
    address = (redact.scrub(found.address, secrets) if found.address else None) or "the server"
    reason = _clean(found.reason, secrets)
    update = f" (ccw provider update {provider_id} --api-base URL)" if provider_id else ""
    tried = f" for {url}" if url else ""
    if found.cause == "dns":
        host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
        return ConnectFailure(
            DNS_FAILURE,
            f"DNS lookup of {host} failed ({reason}){tried}",
            f"check the host name in the provider's apiBase{update}, and your network",
        )
    if found.cause == "connect_timeout":
        return ConnectFailure(
            TIMEOUT,
            f"no answer from {address} while connecting{tried}",
            f"check that {address} is reachable from here (a firewall, a VPN?) and the "
            f"provider's apiBase{update}",
        )
    if found.cause == "refused":
        return ConnectFailure(
            UNREACHABLE,
            f"connection refused by {address}{tried}: nothing listens there",
            f"start the provider's server, or correct the port in its apiBase{update}",
        )
    if found.cause == "tls":
        if found.tls_code in ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE"):
            fix = f"the server speaks plain HTTP: use http:// in the provider's apiBase{update}"
        elif found.tls_code == "CERTIFICATE_VERIFY_FAILED":
            fix = (
                "the server's certificate is not trusted here: fix the certificate, or add "
                "its CA to the system's trust store (or SSL_CERT_FILE)"
            )
        else:
            fix = TLS_FAILURE.fix + update
        return ConnectFailure(
            TLS_FAILURE, f"TLS handshake with {address} failed ({reason}){tried}", fix
        )
    return ConnectFailure(
        UNREACHABLE,
        f"cannot connect to {address} ({reason}){tried}",
        f"check your network and the provider's apiBase{update}",
    )


_BODY_KINDS = (
    (("auth", "api_key", "permission"), AUTHENTICATION),
    (("rate", "quota"), RATE_LIMIT),
    (("server", "overloaded", "api_error", "internal", "unavailable"), SERVER_ERROR),
)


def from_error_body(
    message: str, error_type: str | None, *, secrets: tuple[str, ...] = (), where: str = ""
) -> ProviderFault:
    """A provider's error sent with status 200 (as the body, or as a stream's event): by its
    ``type``, else a bad request, the same whether the reply streamed or not."""
    kind = BAD_REQUEST
    lowered = (error_type or "").lower()
    for words, candidate in _BODY_KINDS:
        if any(word in lowered for word in words):
            kind = candidate
            break
    detail = _clean(message + (f" ({error_type})" if error_type else ""), secrets)
    if where:
        detail = f"{where}: {detail}"
    return ProviderFault(kind, detail)
