"""A test Gemini API (Google AI Studio) on 127.0.0.1: generateContent, streamGenerateContent
and the cachedContents resource, with the usage fields the real one reports.

Routes, under ``/v1beta`` (``GeminiServer.base`` is the ``apiBase`` to configure):

- ``POST /models/{model}:generateContent`` and ``:streamGenerateContent?alt=sse`` (SSE
  ``data:`` events, the last one with ``finishReason`` and ``usageMetadata``).
- ``POST /cachedContents`` (create), ``GET /cachedContents`` (list: counted in
  ``list_calls``, which ccw must never need), ``GET``/``PATCH`` (``?updateMask=ttl``)/
  ``DELETE /cachedContents/{id}``.

Tokens are counted as ``max(1, characters // 4)`` of the text parts. A request naming a
``cachedContent`` reports its tokens as ``cachedContentTokenCount`` (and within
``promptTokenCount``, as Gemini does); without one, a first content of at least the model's
minimum that an earlier request also began with is reported the same way (implicit caching).
The model minimums are the ones the real API enforces (``MINIMUMS``); a smaller create is
refused with its 400 ("Cached content is too small. total_token_count=..,
min_total_token_count=.."). As on the real API, a cached content belongs to the key that
created it (another key gets 403), expires at ``expireTime``, and cannot be combined with a
``systemInstruction`` in the request (400).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.provider_server import RecordedRequest

DEFAULT_REPLY = "Hello from the test Gemini."
PREFIX = "/v1beta"
MINIMUMS = {
    "gemini-2.5-flash-lite": 2048,
    "gemini-2.5-flash": 1024,
    "gemini-2.5-pro": 4096,
}
DEFAULT_MINIMUM = 4096
_MODEL_CALL = re.compile(r"^/models/([^/:]+):(generateContent|streamGenerateContent)$")
_CACHED = re.compile(r"^/cachedContents/([A-Za-z0-9_-]+)$")


def tokens(text: str) -> int:
    """The fake's token count of a text."""
    return max(1, len(text) // 4)


def minimum(model: str) -> int:
    bare = model.removeprefix("models/")
    for prefix, count in MINIMUMS.items():
        if bare.startswith(prefix):
            return count
    return DEFAULT_MINIMUM


@dataclass
class CachedContent:
    name: str
    model: str
    text: str  # every text part of its contents, joined
    system: str
    tokens: int
    expire: float
    owner: str  # the key that created it
    ttl_patches: int = 0

    def resource(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "createTime": _iso(time.time()),
            "updateTime": _iso(time.time()),
            "expireTime": _iso(self.expire),
            "usageMetadata": {"totalTokenCount": self.tokens},
        }


class GeminiServer:
    """Use as ``with GeminiServer(key="k") as srv:``; ``srv.base`` is the apiBase."""

    def __init__(self, reply: str = DEFAULT_REPLY, *, key: str | None = None) -> None:
        self.reply = reply
        self.key = key
        self.requests: list[RecordedRequest] = []
        self.cached: dict[str, CachedContent] = {}
        self.list_calls = 0
        self.url = ""
        self._prefixes: set[str] = set()  # first contents seen (implicit caching)
        self._connections: set[socket.socket] = set()
        self._redirect: str | None = None  # the next request answers 307 to this origin
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        return self.url + PREFIX

    # -- what tests read -----------------------------------------------------------------------

    def calls(self, method: str, pattern: str) -> list[RecordedRequest]:
        """Requests of ``method`` whose path (query included) matches ``pattern``."""
        with self._lock:
            return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def creates(self) -> list[RecordedRequest]:
        return self.calls("POST", r"/cachedContents$")

    def patches(self) -> list[RecordedRequest]:
        return self.calls("PATCH", r"/cachedContents/")

    def deletes(self) -> list[RecordedRequest]:
        return self.calls("DELETE", r"/cachedContents/")

    def model_calls(self) -> list[RecordedRequest]:
        return self.calls("POST", r"/models/")

    def redirect_next(self, origin: str) -> None:
        """The next request answers 307 to ``origin`` + its own path."""
        with self._lock:
            self._redirect = origin.rstrip("/")

    def expire(self, name: str) -> None:
        """Let a cached content's TTL pass now."""
        with self._lock:
            self.cached[name].expire = time.time() - 1

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> GeminiServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.gemini = self
        self._httpd = httpd
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and hang up on kept-alive connections: the server is gone."""
        if self._httpd is None:
            return
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> GeminiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- behaviour -----------------------------------------------------------------------------

    def _live(self, name: str) -> CachedContent | None:
        found = self.cached.get(name)
        if found is not None and found.expire <= time.time():
            del self.cached[name]
            return None
        return found

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], key: str, body: Any
    ) -> tuple[int, Any]:
        """(status, JSON body) or (200, list of SSE events) for one request."""
        if self.key is not None and key != self.key:
            return 403, _error(403, "the API key is not valid", "PERMISSION_DENIED")
        if not path.startswith(PREFIX):
            return 404, _error(404, f"no route {path}", "NOT_FOUND")
        route = path[len(PREFIX) :]
        with self._lock:
            if route == "/cachedContents" and method == "POST":
                return self._create(body, key)
            if route == "/cachedContents" and method == "GET":
                self.list_calls += 1
                return 200, {"cachedContents": [c.resource() for c in self.cached.values()]}
            match = _CACHED.match(route)
            if match:
                return self._one(method, "cachedContents/" + match.group(1), query, key, body)
            match = _MODEL_CALL.match(route)
            if match and method == "POST":
                return self._generate(match.group(1), match.group(2), body, key)
        return 404, _error(404, f"no route {method} {route}", "NOT_FOUND")

    def _create(self, body: Any, key: str) -> tuple[int, Any]:
        if not isinstance(body, dict) or not str(body.get("model", "")).startswith("models/"):
            return 400, _error(400, "model must be models/{model}", "INVALID_ARGUMENT")
        text = _texts(body.get("contents"))
        system = _texts([body.get("systemInstruction") or body.get("system_instruction") or {}])
        count = tokens(text + system)
        need = minimum(body["model"])
        if count < need:
            return 400, _error(
                400,
                "Cached content is too small. "
                f"total_token_count={count}, min_total_token_count={need}",
                "INVALID_ARGUMENT",
            )
        ttl = _seconds(body.get("ttl", "3600s"))
        if ttl is None:
            return 400, _error(400, "invalid ttl", "INVALID_ARGUMENT")
        name = "cachedContents/" + uuid.uuid4().hex[:12]
        entry = CachedContent(name, body["model"], text, system, count, time.time() + ttl, key)
        self.cached[name] = entry
        return 200, entry.resource()

    def _one(
        self, method: str, name: str, query: dict[str, list[str]], key: str, body: Any
    ) -> tuple[int, Any]:
        entry = self._live(name)
        if entry is None:
            return 404, _error(404, f"CachedContent not found: {name}", "NOT_FOUND")
        if entry.owner != key:
            return 403, _error(403, "permission denied on the cached content", "PERMISSION_DENIED")
        if method == "GET":
            return 200, entry.resource()
        if method == "DELETE":
            del self.cached[name]
            return 200, {}
        if method == "PATCH":
            if query.get("updateMask") != ["ttl"] or not isinstance(body, dict):
                return 400, _error(400, "only ttl may be updated", "INVALID_ARGUMENT")
            ttl = _seconds(body.get("ttl", ""))
            if ttl is None:
                return 400, _error(400, "invalid ttl", "INVALID_ARGUMENT")
            entry.expire = time.time() + ttl
            entry.ttl_patches += 1
            return 200, entry.resource()
        return 405, _error(405, "method not allowed", "INVALID_ARGUMENT")

    def _generate(self, model: str, action: str, body: Any, key: str) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, _error(400, "a JSON body is required", "INVALID_ARGUMENT")
        system = _texts([body.get("systemInstruction") or body.get("system_instruction") or {}])
        contents = body.get("contents") or []
        text = _texts(contents)
        cached_tokens = 0
        name = body.get("cachedContent")
        if name is not None:
            entry = self._live(str(name))
            if entry is None or entry.owner != key:
                return 403, _error(
                    403, f"CachedContent not found (or permission denied): {name}",
                    "PERMISSION_DENIED",
                )  # fmt: skip
            if system:
                return 400, _error(
                    400,
                    "CachedContent can not be used with GenerateContent request setting "
                    "system_instruction, tools or tool_config.",
                    "INVALID_ARGUMENT",
                )
            if entry.model != f"models/{model}":
                return 400, _error(400, "the model is not the cached content's", "INVALID_ARGUMENT")
            cached_tokens = entry.tokens
        elif contents:
            first = _texts(contents[:1])
            if tokens(first) >= minimum(model):
                if first in self._prefixes:
                    cached_tokens = tokens(first)
                self._prefixes.add(first)
        prompt = cached_tokens + tokens(text + system)
        out = tokens(self.reply)
        usage: dict[str, Any] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": out,
            "totalTokenCount": prompt + out,
        }
        if cached_tokens:
            usage["cachedContentTokenCount"] = cached_tokens
        if action == "generateContent":
            return 200, _reply(self.reply, "STOP", usage, model)
        half = len(self.reply) // 2
        events = [
            _reply(self.reply[:half], None, None, model),
            _reply(self.reply[half:], "STOP", usage, model),
        ]
        return 200, events


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    gemini: GeminiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up are expected here, not errors."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``GeminiServer.requests``."""

    def setup(self) -> None:
        super().setup()
        with self.server.gemini._lock:
            self.server.gemini._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.gemini._lock:
            self.server.gemini._connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        headers = {name.lower(): value for name, value in self.headers.items()}
        gemini = self.server.gemini
        with gemini._lock:
            gemini.requests.append(RecordedRequest(method, self.path, headers, body))
        with gemini._lock:
            redirect, gemini._redirect = gemini._redirect, None
        if redirect is not None:
            self.send_response(307)
            self.send_header("location", redirect + self.path)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        key = headers.get("x-goog-api-key") or (query.get("key") or [""])[0]
        status, answer = gemini.handle(method, parts.path, query, key, body)
        if isinstance(answer, list):
            data = "".join(f"data: {json.dumps(event)}\r\n\r\n" for event in answer).encode()
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
        else:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _texts(contents: Any) -> str:
    """Every text part of a list of contents, joined by newlines."""
    found: list[str] = []
    for content in contents if isinstance(contents, list) else []:
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                found.append(part["text"])
    return "\n".join(found)


def _seconds(ttl: Any) -> float | None:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(ttl))
    return float(match.group(1)) if match else None


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _error(code: int, message: str, status: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


def _reply(text: str, finish: str | None, usage: dict[str, Any] | None, model: str) -> Any:
    content = {"parts": [{"text": text}], "role": "model"}
    candidate: dict[str, Any] = {"content": content, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
    if usage is not None:
        body["usageMetadata"] = usage
    return body
