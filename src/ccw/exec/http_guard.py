"""The one HTTP client every LiteLLM route uses: no credentials to another origin, and an
error body in a 200 reply noticed.

LiteLLM 1.110.2 sends ``openai/`` (and ``azure/``) calls through the OpenAI SDK, whose httpx
client is ``litellm.client_session`` when set, and every other route ccw uses (``anthropic/``,
``ollama_chat/``, ``gemini/``, ``mistral/``, ``deepseek/``, ``openrouter/``) through its own
``HTTPHandler``, which takes an httpx client per call (``client=HTTPHandler(client=...)``).
Both follow redirects, and httpx drops only ``Authorization`` on a cross-origin redirect, so
``x-api-key`` and custom secret headers would reach the new origin. The response hook here
refuses such a redirect before it is followed.

Some servers answer 200 and put an error in the body, or as the first event of a stream;
LiteLLM then raises whatever its parser trips on, or nothing. The hook wraps each 200 reply's
byte stream to look at its first event and keeps an error found there for ``watch()``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx

OPENAI_SDK_PREFIXES = ("openai/", "azure/", "litellm_proxy/")
MAX_HEAD = 64 * 1024  # the first event of a reply is far smaller
_DEFAULT_PORTS = {"http": 80, "https": 443}


class RedirectRefused(Exception):
    """A provider redirected a call to another origin; following would hand it the key."""

    def __init__(self, source: str, target: str) -> None:
        super().__init__(f"redirect from {source} to {target} refused")
        self.source = source
        self.target = target


@dataclass(frozen=True)
class ErrorBody:
    """An error a provider sent with status 200."""

    message: str
    type: str | None


_seen: ContextVar[list[ErrorBody] | None] = ContextVar("ccw_error_bodies", default=None)
_client: httpx.Client | None = None
_proxies: dict[str, str] = {}  # API origin -> proxy URL (``advancedSettings.proxy``)


def origin(url: httpx.URL) -> str:
    """``scheme://host:port``, the port always written out."""
    port = url.port or _DEFAULT_PORTS.get(url.scheme)
    return f"{url.scheme}://{url.host}:{port}"


def mount_key(url: str) -> str:
    """httpx's mount pattern for the origin of ``url`` (a default port left implicit, as
    httpx leaves it on the URLs it matches)."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def client(proxies: dict[str, str] | None = None) -> httpx.Client:
    """The process's guarded client (one, so that LiteLLM's cached SDK clients stay valid).

    ``proxies`` maps API base URLs to the proxy their requests go through; a map that adds
    one makes a new client with every proxy known so far (requests to other origins keep
    the environment's proxy settings, as httpx reads them).
    """
    global _client
    wanted = dict(_proxies)
    wanted.update({mount_key(base): proxy for base, proxy in (proxies or {}).items()})
    if _client is None or wanted != _proxies:
        _proxies.clear()
        _proxies.update(wanted)
        _client = httpx.Client(
            event_hooks={"response": [_on_response]},
            follow_redirects=True,
            timeout=httpx.Timeout(600.0, connect=10.0),
            mounts={origin: httpx.HTTPTransport(proxy=proxy) for origin, proxy in wanted.items()}
            or None,
        )
    return _client


def client_for(model: str) -> Any:
    """The ``client=`` argument for ``litellm.completion``: None on the OpenAI SDK routes
    (they take ``litellm.client_session``), else an ``HTTPHandler`` over the guarded client."""
    if model.startswith(OPENAI_SDK_PREFIXES):
        return None
    from litellm.llms.custom_httpx.http_handler import HTTPHandler

    return HTTPHandler(client=client())


@contextlib.contextmanager
def watch() -> Iterator[list[ErrorBody]]:
    """Collect the error bodies of 200 replies received inside the block."""
    found: list[ErrorBody] = []
    token = _seen.set(found)
    try:
        yield found
    finally:
        _seen.reset(token)


def _on_response(response: httpx.Response) -> None:
    request = response.request
    if response.has_redirect_location:
        target = request.url.join(response.headers["location"])
        if origin(target) != origin(request.url):
            raise RedirectRefused(origin(request.url), origin(target))
    if response.status_code == 200 and request.method == "POST":
        found = _seen.get()
        if found is not None:
            response.stream = _Sniffed(response.stream, found)


class _Sniffed(httpx.SyncByteStream):
    """Passes the body through unchanged and looks for an error in its first event."""

    def __init__(self, inner: Any, found: list[ErrorBody]) -> None:
        self._inner = inner
        self._found = found
        self._head = bytearray()
        self._decided = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if not self._decided:
                self._head += chunk
                if _first_event_complete(self._head):
                    self._decide()
            yield chunk
        self._decide()

    def _decide(self) -> None:
        if self._decided:
            return
        self._decided = True
        error = error_in(bytes(self._head))
        self._head = bytearray()
        if error is not None:
            self._found.append(error)

    def close(self) -> None:
        self._decide()
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


def _first_event_complete(head: bytearray) -> bool:
    if len(head) >= MAX_HEAD:
        return True
    if head.lstrip()[:1] != b"{":  # SSE: a blank line ends the first event
        return b"\n\n" in head or b"\r\n\r\n" in head
    line_end = head.find(b"\n")  # NDJSON: a whole first line; plain JSON: the whole body
    if line_end < 0:
        return False
    try:
        json.loads(head[:line_end])
    except ValueError:
        return False
    return True


def error_in(head: bytes) -> ErrorBody | None:
    """The error a reply's first event carries: ``{"error": ...}`` as JSON, NDJSON or SSE
    ``data:``, or Anthropic's ``{"type": "error", "error": {...}}``."""
    text = head.decode("utf-8", "replace").strip()
    payload: Any = None
    if text.startswith("{"):
        for candidate in (text, text.split("\n", 1)[0]):
            with contextlib.suppress(ValueError):
                payload = json.loads(candidate)
                break
    else:
        event = text.replace("\r\n", "\n").split("\n\n", 1)[0]
        data = [line[5:].strip() for line in event.split("\n") if line.startswith("data:")]
        if data:
            with contextlib.suppress(ValueError):
                payload = json.loads("\n".join(data))
    if not isinstance(payload, dict) or "error" not in payload:
        return None
    if any(key in payload for key in ("choices", "message", "content", "response")):
        return None
    error = payload["error"]
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("type") or error)
        kind = error.get("type") or error.get("code")
        return ErrorBody(message, str(kind) if kind is not None else None)
    if error is None or error == "":
        return None
    return ErrorBody(str(error), None)
