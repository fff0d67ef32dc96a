"""Why a connection failed, read from an exception chain: the URL and the root cause.

LiteLLM reports an unreachable provider as "Connection error." (or as an internal server
error); the cause is further down the chain: ``socket.gaierror`` (the name did not resolve),
``ConnectionRefusedError``, ``ssl.SSLError``, and the request's URL on httpx's error.
"""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass
from typing import Literal

Cause = Literal["dns", "refused", "tls", "connect_timeout", "network"]

# What the message says when the root exception itself was lost on the way up.
_TEXT_CAUSES: tuple[tuple[Cause, re.Pattern[str]], ...] = (
    (
        "dns",
        re.compile(
            r"name or service not known|nodename nor servname|getaddrinfo failed|"
            r"temporary failure in name resolution|no address associated with hostname|"
            r"name resolution",
            re.I,
        ),
    ),
    ("refused", re.compile(r"connection refused|errno 111\b|winerror 10061", re.I)),
    ("tls", re.compile(r"\[ssl|ssl:|certificate verify failed|tls", re.I)),
)
_SSL_NOISE = re.compile(r"^\[SSL(: [A-Z_]+)?\]\s*|\s*\(_ssl\.c:\d+\)$")


@dataclass(frozen=True)
class NetCause:
    """A failed connection: ``cause``, the URL tried (no query, no user info), its
    ``host[:port]``, the operating system's or TLS library's ``reason``, and for TLS the
    library's short code (``WRONG_VERSION_NUMBER``, ``CERTIFICATE_VERIFY_FAILED``…)."""

    cause: Cause
    url: str | None
    address: str | None
    reason: str
    tls_code: str | None = None


def diagnose(exc: BaseException) -> NetCause | None:
    """The connection failure behind ``exc``, or None when ``exc`` is not one."""
    import httpx

    chain = _chain(exc)
    if not any(_is_connect_error(item) for item in chain):
        return None
    url, address = _where(chain)
    if any(isinstance(item, httpx.ConnectTimeout) for item in chain):
        return NetCause("connect_timeout", url, address, "no answer while connecting")
    for item in reversed(chain):  # the root cause is the most precise
        if isinstance(item, socket.gaierror):
            return NetCause("dns", url, address, item.strerror or str(item))
        if isinstance(item, ConnectionRefusedError):
            return NetCause("refused", url, address, item.strerror or "connection refused")
        if isinstance(item, ssl.SSLCertVerificationError):
            reason = item.verify_message or _ssl_text(item)
            return NetCause("tls", url, address, reason, "CERTIFICATE_VERIFY_FAILED")
        if isinstance(item, ssl.SSLError):
            return NetCause("tls", url, address, _ssl_text(item), item.reason)
    text = " ".join(str(item) for item in chain)
    for cause, pattern in _TEXT_CAUSES:
        if pattern.search(text):
            return NetCause(cause, url, address, _root_text(chain))
    return NetCause("network", url, address, _root_text(chain))


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 12:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _is_connect_error(item: BaseException) -> bool:
    import httpx

    connect = (httpx.ConnectError, httpx.ConnectTimeout, ConnectionRefusedError, socket.gaierror)
    if isinstance(item, connect):
        return True
    name = type(item).__name__
    return name in ("APIConnectionError", "ClientConnectorError", "ConnectError")


def _where(chain: list[BaseException]) -> tuple[str | None, str | None]:
    """The URL of the request that failed, from the error nearest the root: httpx's carries
    the real request (LiteLLM's own errors carry a placeholder URL)."""
    import httpx

    for item in reversed(chain):
        try:
            request = getattr(item, "request", None)
        except RuntimeError:  # httpx: "The .request property has not been set."
            continue
        url = getattr(request, "url", None)
        if isinstance(url, httpx.URL) and url.host:
            address = url.netloc.decode("ascii", "replace")
            return f"{url.scheme}://{address}{url.path}", address
    return None, None


def _ssl_text(exc: ssl.SSLError) -> str:
    text = _SSL_NOISE.sub("", str(exc.args[1] if len(exc.args) > 1 else exc)).strip()
    return text or str(exc.reason or "TLS error").lower().replace("_", " ")


def _root_text(chain: list[BaseException]) -> str:
    root = chain[-1]
    return (getattr(root, "strerror", None) or str(root) or type(root).__name__).strip()
