"""Request checks for a server on a developer's machine, as plain ASGI middleware.

- Size: at most ``MAX_HEADERS`` headers of ``MAX_HEADER_BYTES`` in all (400), a body of at
  most ``MAX_BODY_BYTES`` (413; on the gateway's ``/v1`` routes the gateway's limit,
  ``CCW_GATEWAY_MAX_BODY``): refused on its ``Content-Length`` before any of it is read, else
  counted as it streams in.
- Host: only an IP literal, ``localhost``, the bound name or this machine's name, with the
  bound port or none. A DNS rebinding attack always arrives with the attacker's domain in
  ``Host``; the parse is strict so that no suffix or prefix can smuggle one in.
- Token: when set, every ``/api/`` request carries it as ``Authorization: Bearer`` or
  ``X-CCW-Token``. Never a cookie, so a browser cannot attach it on another site's behalf.
- CSRF: a mutation with an ``Origin`` other than the ``Host`` it was sent to, or a body that is not
  JSON, is refused. Cross-site forms can only send form or text bodies.
- Session tokens: a mutation carrying the dashboard's session cookie also needs a single-use
  ``X-CSRF-Token`` (``ccw.server.csrf``, which runs inside this middleware, after these checks).
- No CORS headers at all; the page and the API share one origin.

A refusal on a ``/v1`` route is in the shape that API's clients read (OpenAI's, or
Anthropic's on ``/v1/messages``), so that their own error handling works.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import json
import re
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN_HEADER = "x-ccw-token"
# A config file is a few kilobytes; one request changes one provider or endpoint.
MAX_BODY_BYTES = 1024 * 1024
# Browsers send about 20 headers and well under 8 KiB of them.
MAX_HEADERS = 100
MAX_HEADER_BYTES = 16 * 1024
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


PORT_RE = re.compile(r"[0-9]{1,5}")
NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")


@dataclass(frozen=True)
class Authority:
    """The host and optional port of a ``Host`` header or an origin, lower case."""

    name: str
    port: int | None
    ip: bool


@functools.lru_cache(maxsize=64)  # every request parses its Host: the same few strings
def parse_authority(text: str) -> Authority | None:
    """``127.0.0.1:3000``, ``[::1]``, ``localhost``; ``None`` for anything else.

    Strict on purpose: an IPv6 address only in brackets, a port only as up to five digits
    after the one colon that follows the name. ``127.0.0.1:3000.evil.com`` and
    ``[::1]evil.com`` are not authorities.
    """
    text = text.lower()
    if text.startswith("["):
        close = text.find("]")
        name, rest = text[1:close], text[close + 1 :]
        if close < 0 or not _is_ip(name, version=6):
            return None
        ip = True
    else:
        name, colon, port_text = text.partition(":")
        rest = colon + port_text
        ip = _is_ip(name, version=4)
        if not ip and not NAME_RE.fullmatch(name):
            return None
    if not rest:
        return Authority(name, None, ip)
    if rest[0] != ":" or not PORT_RE.fullmatch(rest[1:]):
        return None
    return Authority(name, int(rest[1:]), ip)


def parse_origin(origin: str) -> Authority | None:
    """The authority of ``http://host[:port]`` or ``https://...``; ``None`` for anything else."""
    scheme, sep, authority = origin.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    return parse_authority(authority)


def _is_ip(name: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(name).version == version
    except ValueError:
        return False


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


Refusal = tuple[int, str, str]


class SecurityMiddleware:
    """Refuses oversized requests, foreign hosts, missing tokens and cross-site or non-JSON
    mutations, before the application sees any of them."""

    def __init__(self, app: ASGIApp, *, bound_host: str, port: int, token: str | None) -> None:
        self.app = app
        self.names = allowed_names(bound_host)
        self.port = port
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
        path: str = scope.get("path", "")
        limit = _body_limit(scope, path)
        refusal = _oversized_headers(raw) or self._refusal(scope, headers, limit)
        if refusal is None and _may_have_body(headers):
            body = await _read_body(receive, limit, path)
            if isinstance(body, tuple):
                refusal = body
            elif body is not None:
                receive = _replay(body, receive)
        if refusal:
            await send_json(send, refusal[0], _refusal_body(path, refusal), PAGE_HEADERS)
            return
        extra = PAGE_HEADERS if path.startswith("/docs") else [*PAGE_HEADERS, PAGE_CSP]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)

    def _is_own(self, authority: Authority | None) -> bool:
        return (
            authority is not None
            and (authority.ip or authority.name in self.names)
            and authority.port in (None, self.port)
        )

    def _refusal(self, scope: Scope, headers: dict[str, str], limit: int) -> Refusal | None:
        host = headers.get("host", "")
        own = parse_authority(host)
        if not self._is_own(own):
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
        length = headers.get("content-length", "0")
        if not length.isdigit():
            return (400, "Content-Length must be a number of bytes", "send a valid request")
        if int(length) > limit:
            return _too_large(limit, scope.get("path", ""))
        if scope["method"] in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None and parse_origin(origin) != own:
            return (403, f"cross-origin request from {origin} refused", "use the dashboard page")
        if headers.get("sec-fetch-site") == "cross-site":
            return (403, "cross-site request refused", "use the dashboard page")
        content_type = headers.get("content-type")
        if (content_type is not None or _may_have_body(headers)) and not _is_json(
            content_type or ""
        ):
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


def _oversized_headers(raw: list[tuple[bytes, bytes]]) -> Refusal | None:
    if len(raw) > MAX_HEADERS:
        return (
            400,
            f"too many request headers ({len(raw)}; at most {MAX_HEADERS})",
            "send fewer headers",
        )
    if sum(len(name) + len(value) + 4 for name, value in raw) > MAX_HEADER_BYTES:
        return (
            400,
            f"request headers too large (at most {MAX_HEADER_BYTES} bytes)",
            "send shorter headers",
        )
    return None


def _may_have_body(headers: dict[str, str]) -> bool:
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers


def _is_api(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def _body_limit(scope: Scope, path: str) -> int:
    """The gateway's limit on its routes (set on the app when the gateway is installed),
    the dashboard's elsewhere."""
    if _is_api(path):
        app = scope.get("app")
        found = getattr(getattr(app, "state", None), "gateway_max_body", None)
        if isinstance(found, int):
            return found
    return MAX_BODY_BYTES


def _too_large(limit: int, path: str) -> Refusal:
    if _is_api(path):
        fix = "send less, or raise the gateway's limit where it runs: CCW_GATEWAY_MAX_BODY=4MiB"
    else:
        fix = "send a smaller body; the API takes one provider or endpoint at a time"
    return (413, f"request body too large (at most {limit} bytes)", fix)


# The OpenAI ``code`` of each refusal (Anthropic's clients read the status).
_API_CODES = {
    400: "bad_request",
    401: "invalid_api_key",
    403: "forbidden",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def _refusal_body(path: str, refusal: Refusal) -> dict[str, Any]:
    """The dashboard's ``{error, fix}``, or the gateway client's error shape on ``/v1``."""
    status, message, fix = refusal
    if not _is_api(path):
        return {"error": message, "fix": fix}
    from ccw.server.gateway.errors import ANTHROPIC_PATH, GatewayError, body

    error = GatewayError(status, f"{message} ({fix})", _API_CODES.get(status, "error"))
    return body(error, "anthropic" if path == ANTHROPIC_PATH else "openai")


async def _read_body(receive: Receive, limit: int, path: str) -> bytes | Refusal | None:
    """The whole body, or a 413 refusal as soon as it passes the limit (whatever
    Content-Length said); ``None`` when the client went away first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return _too_large(limit, path)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the application the body already read, then the client's."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    """A whole JSON response from ASGI middleware, with ``headers`` beside its type and
    length."""
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
