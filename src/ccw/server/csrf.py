"""Per-session CSRF tokens, as the original dashboard page expects them.

The page first asks ``GET /api/csrf-token`` (or ``?count=N``): that sets an HttpOnly
``ccw_session_id`` cookie and answers single-use tokens bound to that session. Each mutation
then sends one as ``X-CSRF-Token``; the answer carries the next token in the same header.

The rule only binds requests that carry the session cookie, since only a browser that has
loaded the page has it. A request without it (curl, the spec's examples, ccw's own page before
it asks for a token) is judged by the Origin/Host/JSON rules of ``ccw.server.security``
alone, and one authenticated with the server token (``Authorization: Bearer`` or
``X-CCW-Token``) needs no CSRF token either: a browser cannot attach those for another site.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from ccw.server.security import ASGIApp, Message, Receive, Scope, Send, send_json

NO_STORE = (b"cache-control", b"no-store")

TOKEN_PATH = "/api/csrf-token"
SESSION_COOKIE = "ccw_session_id"
TOKEN_COOKIE = "XSRF-TOKEN"
TOKEN_HEADER = "x-csrf-token"
TOKEN_TTL_SECONDS = 15 * 60
SESSION_TTL_SECONDS = 24 * 60 * 60
MAX_COUNT = 10  # tokens one ``?count=`` asks for
MAX_TOKENS_PER_SESSION = 32  # the oldest unused ones go first
MAX_SESSIONS = 256  # the least recently used session goes first
MUTATIONS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CsrfTokens:
    """Single-use tokens per session, each valid for ``ttl`` seconds; thread-safe."""

    def __init__(
        self, ttl: float = TOKEN_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self._sessions: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, session: str, count: int = 1) -> list[str]:
        """``count`` new tokens for ``session``."""
        tokens = [secrets.token_hex(32) for _ in range(count)]
        expires = self.clock() + self.ttl
        with self._lock:
            held = self._sessions.pop(session, None) or OrderedDict()
            self._sessions[session] = held
            for token in tokens:
                held[token] = expires
            while len(held) > MAX_TOKENS_PER_SESSION:
                held.popitem(last=False)
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return tokens

    def consume(self, session: str, token: str) -> bool:
        """True once for a token issued to ``session`` that has not expired."""
        with self._lock:
            held = self._sessions.get(session)
            expires = held.pop(token, None) if held else None
        return expires is not None and self.clock() <= expires


def _cookies(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in headers:
        if name.lower() == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:
                continue
    return {key: morsel.value for key, morsel in jar.items()}


def _header(headers: list[tuple[bytes, bytes]], wanted: bytes) -> str:
    return next((v.decode("latin-1") for k, v in headers if k.lower() == wanted), "")


def _has_server_token(headers: list[tuple[bytes, bytes]]) -> bool:
    """Sent with the server token: the security middleware already checked its value."""
    bearer = _header(headers, b"authorization")
    return bool(_header(headers, b"x-ccw-token")) or bearer[:7].lower() == "bearer "


def _token_cookie(token: str) -> tuple[bytes, bytes]:
    value = f"{TOKEN_COOKIE}={token}; Path=/; SameSite=Strict; Max-Age={TOKEN_TTL_SECONDS}"
    return (b"set-cookie", value.encode())


def _session_cookie(session: str) -> tuple[bytes, bytes]:
    value = (
        f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; "
        f"Max-Age={SESSION_TTL_SECONDS}"
    )
    return (b"set-cookie", value.encode())


def _count(query: bytes) -> int:
    raw = parse_qs(query.decode("latin-1")).get("count", ["1"])[0]
    try:
        return min(max(1, int(raw)), MAX_COUNT)
    except ValueError:
        return 1


class CsrfMiddleware:
    """Serves ``GET /api/csrf-token`` and checks ``X-CSRF-Token`` on mutations that carry
    the session cookie. It runs inside ``SecurityMiddleware``, so Host, Origin, size and
    server-token checks have already passed."""

    def __init__(self, app: ASGIApp, tokens: CsrfTokens) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        method: str = scope["method"]
        if path == TOKEN_PATH and method in ("GET", "HEAD"):
            await self._issue(scope, headers, send)
            return
        session = _cookies(headers).get(SESSION_COOKIE)
        if method not in MUTATIONS or not session or _has_server_token(headers):
            await self.app(scope, receive, send)
            return
        sent = _header(headers, TOKEN_HEADER.encode())
        if not sent or not self.tokens.consume(session, sent):
            await send_json(
                send,
                403,
                {
                    "error": "CSRF validation failed: missing, used or expired X-CSRF-Token",
                    "fix": f"GET {TOKEN_PATH} and send the token as X-CSRF-Token",
                },
                [NO_STORE],
            )
            return
        nxt = self.tokens.issue(session)[0]

        async def with_next(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-csrf-token", nxt.encode()),
                    _token_cookie(nxt),
                ]
            await send(message)

        await self.app(scope, receive, with_next)

    async def _issue(self, scope: Scope, headers: list[tuple[bytes, bytes]], send: Send) -> None:
        extra: list[tuple[bytes, bytes]] = []
        session = _cookies(headers).get(SESSION_COOKIE) or ""
        if not (16 <= len(session) <= 128 and session.isalnum()):
            session = secrets.token_hex(16)
            extra.append(_session_cookie(session))
        count = _count(scope.get("query_string", b""))
        tokens = self.tokens.issue(session, count)
        extra += [(b"x-csrf-token", tokens[0].encode()), _token_cookie(tokens[0])]
        body: dict[str, object] = (
            {"csrfToken": tokens[0]}
            if count == 1
            else {"tokens": tokens, "expiresIn": TOKEN_TTL_SECONDS}
        )
        await send_json(send, 200, body, [NO_STORE, *extra])
