"""Request checks for a server on a developer's machine, as plain ASGI middleware.

- Host: only an IP literal, ``localhost``, the bound name or this machine's name. A DNS
  rebinding attack always arrives with the attacker's domain in ``Host``.
- Token: when set, every ``/api/`` request carries it as ``Authorization: Bearer`` or
  ``X-CCW-Token``. Never a cookie, so a browser cannot attach it on another site's behalf.
- CSRF: a mutation with an ``Origin`` other than the server's own, or a body that is not
  JSON, is refused. Cross-site forms can only send form or text bodies.
- No CORS headers at all; the page and the API share one origin.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN_HEADER = "x-ccw-token"
PAGE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
PAGE_CSP = (
    b"content-security-policy",
    b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
)


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_name(header: str) -> str:
    """``[::1]:3000`` -> ``::1``; ``Localhost:3000`` -> ``localhost``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if ":" in header else header


def allowed_names(bound_host: str) -> frozenset[str]:
    names = {"localhost", bound_host.lower().strip("[]")}
    if not is_loopback(bound_host):
        machine = socket.gethostname().lower()
        names.update({machine, machine.split(".")[0]})
    return frozenset(names)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class SecurityMiddleware:
    """Refuses foreign hosts, missing tokens and cross-site or non-JSON mutations."""

    def __init__(self, app: ASGIApp, *, bound_host: str, token: str | None) -> None:
        self.app = app
        self.names = allowed_names(bound_host)
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal:
            status, message, fix = refusal
            await _send_json(send, status, {"error": message, "fix": fix})
            return
        path: str = scope.get("path", "")
        extra = PAGE_HEADERS if path.startswith("/docs") else [*PAGE_HEADERS, PAGE_CSP]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str] | None:
        host = headers.get("host", "")
        name = host_name(host)
        if not name or not (_is_ip(name) or name in self.names):
            return (
                403,
                f"Host {host!r} is not this server",
                "open the dashboard as http://127.0.0.1:<port>/ or http://localhost:<port>/",
            )
        if (
            self.token
            and scope.get("path", "").startswith("/api/")
            and not self._has_token(headers)
        ):
            return (
                401,
                "this server needs a token",
                "send Authorization: Bearer <token> (the token given to ccw serve)",
            )
        if scope["method"] in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        own = (f"http://{host}".lower(), f"https://{host}".lower())
        if origin is not None and origin.lower() not in own:
            return (403, f"cross-origin request from {origin} refused", "use the dashboard page")
        if headers.get("sec-fetch-site") == "cross-site":
            return (403, "cross-site request refused", "use the dashboard page")
        content_type = headers.get("content-type")
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        if (content_type is not None or has_body) and not _is_json(content_type or ""):
            return (
                415,
                "a request body must be JSON",
                "send Content-Type: application/json with a JSON body",
            )
        return None

    def _has_token(self, headers: dict[str, str]) -> bool:
        assert self.token is not None
        sent = headers.get(TOKEN_HEADER, "")
        bearer = headers.get("authorization", "")
        if bearer[:7].lower() == "bearer ":
            sent = bearer[7:].strip()
        return hmac.compare_digest(sent.encode(), self.token)


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *PAGE_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
