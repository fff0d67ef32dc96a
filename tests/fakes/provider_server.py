"""A test LLM provider on 127.0.0.1 speaking the OpenAI, Anthropic and Ollama wire formats.

What litellm 1.110.2 raises for each fault (``num_retries=0``; routes ``openai/``, ``anthropic/``,
``ollama_chat/`` and ``ollama/`` alike unless noted; ``exc.status_code`` in brackets). Every one
subclasses ``openai.APIError``; ``litellm.APIError`` is only one branch of that tree.

- 400: ``litellm.BadRequestError`` [400].
- 401: ``litellm.AuthenticationError`` [401].
- 403: ``litellm.PermissionDeniedError`` [403]; on openai/ a plain ``litellm.APIError`` [403].
- 429: ``litellm.RateLimitError`` [429]; Retry-After is in ``exc.litellm_response_headers``
  on every route (also ``exc.response.headers`` on openai/ only).
- 500: ``litellm.InternalServerError`` [500]; 503: ``litellm.ServiceUnavailableError`` [503].
- slow reply past ``timeout=``: ``litellm.Timeout`` [408]; it subclasses
  ``openai.APIConnectionError`` but not ``litellm.APIConnectionError``.
- malformed, not streaming: openai/ ``litellm.InternalServerError`` [500]; the others
  ``litellm.APIConnectionError`` [500]; the message names the JSON error.
- malformed, streaming: openai/ and ollama/ raise ``litellm.exceptions.MidStreamFallbackError``
  [500] while iterating; anthropic/ and ollama_chat/ raise nothing and yield one empty chunk
  with finish_reason "stop" (litellm buffers unparsable lines as a partial JSON).
- cut stream: the first chunks arrive, then iteration raises
  ``litellm.exceptions.MidStreamFallbackError`` [500] ("peer closed connection ... incomplete
  chunked read"); it subclasses ``litellm.ServiceUnavailableError``, so test for it first.
- connection refused: openai/ and anthropic/ raise ``litellm.InternalServerError`` [500],
  ollama_chat/ ``litellm.APIConnectionError`` [500]; every route has an ``httpx.ConnectError``
  in the ``__cause__``/``__context__`` chain, which is the reliable test.

Usage numbers: prompt tokens = max(1, prompt characters // 4), completion tokens =
max(1, answer characters // 4). ``usage_cached_tokens``, when set, is reported as
``prompt_tokens_details.cached_tokens`` (OpenAI) and ``cache_read_input_tokens`` (Anthropic,
whose ``input_tokens`` is then the uncached rest) in place of the prompt caches below;
Ollama does not report it.

Prompt caches, as the real providers keep them (tokens counted as characters // 4 here;
``advance(seconds)`` moves the caches' clock, ``forget_prompts()`` empties them):
- OpenAI route: a request whose text (each message as ``<role>`` and its text) shares a
  prefix of at least 1,024 tokens with one seen before reports that prefix, in steps of 128
  tokens, as ``prompt_tokens_details.cached_tokens``. Requests are compared within their
  ``prompt_cache_key`` (those without one among themselves); a prefix is kept 10 minutes
  after its last use, 24 hours with ``prompt_cache_retention: "24h"``.
- Anthropic route: only up to a ``cache_control`` mark (system, message blocks). A mark whose
  prefix is below the model's minimum (``cache_min_tokens``, else 1,024) is ignored. The
  longest prefix cached before, at a mark or at one of the 20 block boundaries before it, is
  read (``cache_read_input_tokens``, its lifetime renewed); the rest up to the last mark is
  written (``cache_creation_input_tokens``, and ``cache_creation`` by TTL: the mark's
  ``ttl``, ``5m`` by default or ``1h``); ``input_tokens`` is what is left.
With ``echo`` the answer is the last user message's text blocks joined with "\\n".

Opt-in faults for hardening tests: ``fail(..., echo_headers=True)`` puts every request header
(credentials included, as many providers do) into the error message; ``redirect(url)`` answers
307 to ``url`` + the request path (another ``ProviderServer`` records what it receives, see
``credentials_seen``); ``redirect_loop()`` answers 307 to the same path (1000 times by
default); ``stall()`` streams the first chunk, then sends nothing for the given seconds;
``error_in_ok()`` answers 200 with an error body (as JSON, or as the stream's only event).

Per key: ``refuse_key(key, status)`` answers every model call and model list sent with that key
(``Authorization: Bearer`` or ``x-api-key``) with ``status``, until ``accept_key(key)``;
``calls_by_key()`` counts the model calls (embeddings included) each key made. ``POST
/v1/embeddings`` answers one vector of ``embedding_dim`` numbers per input, the same for the
same text, and records each request's input count in ``embedding_batches``. It also answers
as a forward proxy: a request line with an absolute URI is served as if sent to it, its host
kept in ``proxied``.

Faults hit model calls only, unless injected with ``routes="models"`` (only the model lists
``GET /v1/models``, ``/models`` and ``/api/tags``, what a connection test asks for) or
``routes="all"``. The queue is first in, first out: a head fault waits for a request it applies
to, and holds back the faults behind it. On a model list, ``fail`` answers the error in the
shape of the route (Ollama's on ``/api/tags``; Anthropic's when the request carries an
``anthropic-version`` header; OpenAI's otherwise) and ``malformed`` answers 200 with cut JSON.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Routes = Literal["calls", "models", "all"]

DEFAULT_REPLY = "Hello from the test provider."
OPENAI_MIN_TOKENS = 1024  # the shortest prefix OpenAI caches
ANTHROPIC_MIN_TOKENS = 1024  # the shortest prefix Anthropic caches, for most models

MODEL_PATHS = (
    "/v1/embeddings",
    "/embeddings",
    "/v1/chat/completions",
    "/chat/completions",
    "/v1/messages",
    "/api/chat",
    "/api/generate",
)


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or the raw text when it is not JSON


CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key")
_STREAM_ONLY = ("cut", "stall")


@dataclass
class _Fault:
    kind: str  # "fail" | "slow" | "malformed" | "cut" | "redirect" | "stall" | "error_in_ok"
    times: int
    status: int = 0
    retry_after: float | None = None
    message: str = ""
    seconds: float = 0.0
    routes: Routes = "calls"
    echo_headers: bool = False
    location: str = ""  # "redirect": where to; empty means the same path (a loop)
    error_type: str = ""

    def applies(self, streaming: bool, model_list: bool) -> bool:
        if model_list:
            return self.routes != "calls" and self.kind not in (*_STREAM_ONLY, "error_in_ok")
        if self.kind in _STREAM_ONLY and not streaming:
            return False
        return self.routes != "models"


@dataclass
class _Call:
    """What a model request asks for, in provider-neutral terms."""

    model: str
    prompt_chars: int
    last_user_text: str
    stream: bool
    include_usage: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class ProviderServer:
    """A provider on 127.0.0.1 with scriptable faults. Use as ``with ProviderServer() as srv:``."""

    def __init__(self, reply: str = DEFAULT_REPLY, *, echo: bool = False) -> None:
        self.reply = reply
        self.echo = echo
        self.usage_cached_tokens = 0
        self.cache_min_tokens: dict[str, int] = {}  # Anthropic: model -> minimum (else 1,024)
        self._clock = 0.0  # seconds ``advance`` added to the real clock
        self._anthropic_cache: dict[str, float] = {}  # prefix digest -> expiry
        self._openai_cache: dict[str, dict[str, float]] = {}  # cache key -> prefix -> expiry
        self.models: list[str] = ["test-model"]
        self.requests: list[RecordedRequest] = []
        self.embedding_dim = 8
        self.proxied: list[str] = []  # hosts of absolute-URI requests (it acted as a proxy)
        self.embedding_batches: list[int] = []
        self._refused_keys: dict[str, int] = {}
        self.url = ""
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- fault injection (FIFO; model calls unless ``routes`` says otherwise) -----------------

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        message: str = "Injected failure from the test provider.",
        routes: Routes = "calls",
        echo_headers: bool = False,
    ) -> None:
        """The next ``times`` requests on ``routes`` answer ``status`` with a provider-shaped
        error; with ``echo_headers`` its message ends with every request header, as sent."""
        self._push(
            _Fault(
                "fail",
                times,
                status=status,
                retry_after=retry_after,
                message=message,
                routes=routes,
                echo_headers=echo_headers,
            )
        )

    def redirect(self, url: str, *, times: int = 1, routes: Routes = "calls") -> None:
        """The next ``times`` requests answer 307 to ``url`` followed by the request's path."""
        self._push(_Fault("redirect", times, location=url.rstrip("/"), routes=routes))

    def redirect_loop(self, *, times: int = 1000, routes: Routes = "calls") -> None:
        """Requests answer 307 to their own path (same origin), ``times`` times in all."""
        self._push(_Fault("redirect", times, routes=routes))

    def stall(self, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` streaming calls send their first chunk, then nothing for
        ``seconds`` (cut short when the server stops), then hang up."""
        self._push(_Fault("stall", times, seconds=seconds))

    def error_in_ok(
        self,
        message: str = "Injected error in a 200 reply.",
        *,
        error_type: str = "invalid_request_error",
        times: int = 1,
    ) -> None:
        """The next ``times`` model calls answer 200 with ``{"error": {...}}``: the whole body,
        or the only event of the stream."""
        self._push(_Fault("error_in_ok", times, message=message, error_type=error_type))

    def refuse_key(self, key: str, status: int = 401) -> None:
        """Every request carrying ``key`` answers ``status`` until ``accept_key(key)``."""
        with self._lock:
            self._refused_keys[key] = status

    def accept_key(self, key: str) -> None:
        with self._lock:
            self._refused_keys.pop(key, None)

    def _refusal(self, headers: dict[str, str]) -> int | None:
        with self._lock:
            return self._refused_keys.get(_key_of(headers) or "")

    def calls_by_key(self) -> dict[str, int]:
        """How many model calls each key made (the key as sent; ``""`` for none)."""
        counts: dict[str, int] = {}
        with self._lock:
            for request in self.requests:
                if request.method == "POST" and request.path in MODEL_PATHS:
                    key = _key_of(request.headers) or ""
                    counts[key] = counts.get(key, 0) + 1
        return counts

    def credentials_seen(self, extra: tuple[str, ...] = ()) -> list[str]:
        """Names of credential headers (and of ``extra`` headers) any request carried."""
        wanted = {name.lower() for name in (*CREDENTIAL_HEADERS, *extra)}
        with self._lock:
            return sorted({name for r in self.requests for name in r.headers if name in wanted})

    def slow(self, seconds: float, *, times: int = 1, routes: Routes = "calls") -> None:
        """The next ``times`` requests on ``routes`` wait ``seconds`` before answering normally."""
        self._push(_Fault("slow", times, seconds=seconds, routes=routes))

    def malformed(self, *, times: int = 1, routes: Routes = "calls") -> None:
        """The next ``times`` requests on ``routes`` answer 200 with invalid JSON, SSE or
        NDJSON."""
        self._push(_Fault("malformed", times, routes=routes))

    def cut_stream(self, *, times: int = 1) -> None:
        """The next ``times`` streaming requests send a couple of chunks, then hang up."""
        self._push(_Fault("cut", times))

    def _push(self, fault: _Fault) -> None:
        if fault.times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, streaming: bool, model_list: bool = False) -> _Fault | None:
        """Pop one use of the head fault if it applies to this request, else leave it queued."""
        with self._lock:
            if not self._faults:
                return None
            head = self._faults[0]
            if not head.applies(streaming, model_list):
                return None
            head.times -= 1
            if head.times == 0:
                self._faults.pop(0)
            return head

    def advance(self, seconds: float) -> None:
        """Move the prompt caches' clock forward: entries expire as if time had passed."""
        with self._lock:
            self._clock += seconds

    def forget_prompts(self) -> None:
        """Empty both prompt caches."""
        with self._lock:
            self._anthropic_cache.clear()
            self._openai_cache.clear()

    def _now(self) -> float:
        return time.time() + self._clock

    def openai_cached(self, body: dict[str, Any]) -> int:
        """The tokens of the longest prefix this request shares with one seen in its cache;
        the request's text is kept for later ones."""
        text = "".join(
            f"<{m.get('role')}>{_text(m.get('content'))}" for m in body.get("messages") or []
        )
        keeps = 86_400 if body.get("prompt_cache_retention") == "24h" else 600
        with self._lock:
            now = self._now()
            bucket = self._openai_cache.setdefault(str(body.get("prompt_cache_key") or ""), {})
            for seen in [k for k, expires in bucket.items() if expires <= now]:
                del bucket[seen]
            shared = max((_common_prefix(text, seen) for seen in bucket), default=0) // 4
            bucket[text] = now + keeps
            if shared < OPENAI_MIN_TOKENS:
                return 0
            for seen in bucket:
                if _common_prefix(text, seen) // 4 >= shared:
                    bucket[seen] = max(bucket[seen], now + keeps)
        return shared // 128 * 128

    def anthropic_cache(self, body: dict[str, Any]) -> tuple[int, dict[str, int]]:
        """Tokens read from the cache, and tokens written by TTL, for this request."""
        blocks = _anthropic_blocks(body)
        minimum = self.cache_min_tokens.get(str(body.get("model", "")), ANTHROPIC_MIN_TOKENS)
        prefixes: list[tuple[str, int]] = []  # (digest, tokens) at the end of each block
        digest, chars = hashlib.sha256(str(body.get("model", "")).encode()), 0
        for role, text, _mark in blocks:
            digest.update(f"<{role}>{text}".encode())
            chars += len(text)
            prefixes.append((digest.hexdigest(), chars // 4))
        marks = [
            (i, str(mark.get("ttl") or "5m"))
            for i, (_, _, mark) in enumerate(blocks)
            if isinstance(mark, dict) and prefixes[i][1] >= minimum
        ]
        if not marks:
            return 0, {}
        with self._lock:
            now = self._now()
            read_at = -1
            for i, _ttl in marks:
                for j in range(i, max(-1, i - 21), -1):
                    if self._anthropic_cache.get(prefixes[j][0], 0) > now and j > read_at:
                        read_at = j
            read = prefixes[read_at][1] if read_at >= 0 else 0
            written: dict[str, int] = {}
            done = read
            for i, ttl in marks:
                keeps = 3600 if ttl == "1h" else 300
                expires = self._anthropic_cache.get(prefixes[i][0], 0)
                self._anthropic_cache[prefixes[i][0]] = max(expires, now + keeps)
                if i > read_at:
                    written[ttl] = written.get(ttl, 0) + prefixes[i][1] - done
                    done = prefixes[i][1]
            if read_at >= 0:
                self._anthropic_cache[prefixes[read_at][0]] = max(
                    self._anthropic_cache[prefixes[read_at][0]], now + 300
                )
        return read, written

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def answer_for(self, call: _Call) -> str:
        return call.last_user_text if self.echo else self.reply

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> ProviderServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.provider = self
        self._httpd = httpd
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def wait(self, seconds: float) -> None:
        """Sleep, but wake up at once when the server stops."""
        self._stopping.wait(seconds)

    def __enter__(self) -> ProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    provider: ProviderServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, cut streams) are expected here, not errors."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server
    _stall_seconds = 0.0

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read ``ProviderServer.requests`` instead."""

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def provider(self) -> ProviderServer:
        return self.server.provider

    def _read_body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw

    def _send_json(
        self, status: int, payload: Any, headers: dict[str, str] | None = None, raw: str = ""
    ) -> None:
        data = (raw or json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _drop_connection(self) -> None:
        """Close the socket mid-body: the client sees an incomplete chunked read."""
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- routing -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        body = self._read_body() if method == "POST" else None
        if self.path.startswith(("http://", "https://")):  # a forward proxy's request line
            host, _, rest = self.path.split("://", 1)[1].partition("/")
            with self.provider._lock:
                self.provider.proxied.append(host)
            self.path = "/" + rest
        path = self.path.split("?", 1)[0]
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.provider._record(RecordedRequest(method, path, headers, body))
        routes = {
            ("GET", "/v1/models"): self._models,
            ("GET", "/models"): self._models,
            ("GET", "/api/tags"): self._ollama_tags,
            ("POST", "/api/show"): self._ollama_show,
            ("POST", "/v1/chat/completions"): self._openai_chat,
            ("POST", "/chat/completions"): self._openai_chat,
            ("POST", "/v1/messages"): self._anthropic_messages,
            ("POST", "/api/chat"): self._ollama_chat,
            ("POST", "/api/generate"): self._ollama_generate,
            ("POST", "/v1/embeddings"): self._embeddings,
            ("POST", "/embeddings"): self._embeddings,
        }
        route = routes.get((method, path))
        if route is None:
            self._send_json(404, {"error": {"message": f"no route {method} {path}"}})
            return
        refused = self.provider._refusal(headers)
        if refused is not None and route != self._ollama_show:
            shape = _anthropic_error if "anthropic-version" in headers else _openai_error
            if path.startswith("/api/"):
                shape = _ollama_error
            self._send_json(refused, shape(refused, "This key is refused by the test provider."))
            return
        route(body if isinstance(body, dict) else {})

    def _fault(self, call: _Call | None, error_body: Any) -> str | None:
        """Apply the next fault to a model call, or to a model list when ``call`` is None;
        returns "malformed"/"cut" for the route to act on, or "done"."""
        streaming = call.stream if call is not None else False
        fault = self.provider._take_fault(streaming, model_list=call is None)
        if fault is None:
            return None
        if fault.kind == "slow":
            self.provider.wait(fault.seconds)
            return None
        if fault.kind == "fail":
            headers = {}
            if fault.retry_after is not None:
                value = fault.retry_after
                headers["retry-after"] = str(int(value)) if value == int(value) else str(value)
            message = fault.message
            if fault.echo_headers:
                message += " Request headers: " + json.dumps(dict(self.headers.items()))
            self._send_json(fault.status, error_body(fault.status, message), headers)
            return "done"
        if fault.kind == "redirect":
            self._send_json(307, {"moved": True}, {"location": (fault.location or "") + self.path})
            return "done"
        if fault.kind == "error_in_ok" and call is not None:
            error = {"message": fault.message, "type": fault.error_type, "code": None}
            if not call.stream:
                self._send_json(200, {"error": error})
            else:
                self._start_stream(
                    "application/x-ndjson" if self.path.startswith("/api/") else "text/event-stream"
                )
                self._chunk(self._error_event(error))
                self._end_stream()
            return "done"
        if fault.kind == "stall":
            self._stall_seconds = fault.seconds
        return fault.kind

    def _error_event(self, error: dict[str, Any]) -> str:
        """An error as the one event of a stream, in the wire format of the route."""
        if self.path.startswith("/api/"):
            return json.dumps({"error": error["message"]}) + "\n"
        if self.path.endswith("/messages"):
            payload = {
                "type": "error",
                "error": {"type": error["type"], "message": error["message"]},
            }
            return f"event: error\ndata: {json.dumps(payload)}\n\n"
        return f"data: {json.dumps({'error': error})}\n\ndata: [DONE]\n\n"

    def _stall(self) -> None:
        """Send nothing for the stall's seconds, then hang up."""
        self.provider.wait(self._stall_seconds)
        self._drop_connection()

    # -- shared answers ----------------------------------------------------------------------

    def _list_fault(self, error_body: Any) -> bool:
        """Apply a model-list fault; True when it has answered the request."""
        action = self._fault(None, error_body)
        if action == "malformed":
            self._send_json(200, None, raw='{"object": "list", "data": [{"id": "te')
            return True
        return action == "done"

    def _models(self, _body: dict[str, Any]) -> None:
        """One list both the OpenAI and the Anthropic clients can read."""
        anthropic = "anthropic-version" in self.headers
        if self._list_fault(_anthropic_error if anthropic else _openai_error):
            return
        names = self.provider.models
        data = [
            {
                "id": name,
                "object": "model",
                "type": "model",
                "display_name": name,
                "created": 0,
                "created_at": "2025-01-01T00:00:00Z",
                "owned_by": "test-provider",
            }
            for name in names
        ]
        payload = {
            "object": "list",
            "data": data,
            "has_more": False,
            "first_id": names[0] if names else None,
            "last_id": names[-1] if names else None,
        }
        self._send_json(200, payload)

    # -- OpenAI ------------------------------------------------------------------------------

    def _openai_chat(self, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        call = _Call(
            model=str(body.get("model", "")),
            prompt_chars=sum(len(_text(m.get("content"))) for m in messages),
            last_user_text=_last_user_text(messages),
            stream=bool(body.get("stream")),
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        )
        action = self._fault(call, _openai_error)
        if action == "done":
            return
        answer = self.provider.answer_for(call)
        usage = self._openai_usage(call, answer, self.provider.openai_cached(body))
        base = {"id": "chatcmpl-test", "created": int(time.time()), "model": call.model}
        if not call.stream:
            if action == "malformed":
                self._send_json(200, None, raw='{"id": "chatcmpl-test", "choices": [{"mess')
                return
            message = {"role": "assistant", "content": answer}
            choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
            self._send_json(
                200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            )
            return

        def event(choices: list[dict[str, Any]], **more: Any) -> str:
            chunk = {**base, "object": "chat.completion.chunk", "choices": choices, **more}
            return f"data: {json.dumps(chunk)}\n\n"

        self._start_stream("text/event-stream")
        if action == "malformed":
            self._chunk('data: {"id": "chatcmpl-test", "choices": [{"delta\n\n')
            self._chunk("data: [DONE]\n\n")
            self._end_stream()
            return
        pieces = _pieces(answer)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            if action == "cut" and (index >= 2 or last):
                self._drop_connection()
                return
            if action == "stall" and index == 1:
                self._stall()
                return
            delta = {"role": "assistant", "content": piece} if index == 0 else {"content": piece}
            finish = "stop" if last else None
            self._chunk(event([{"index": 0, "delta": delta, "finish_reason": finish}]))
        if call.include_usage:
            self._chunk(event([], usage=usage))
        self._chunk("data: [DONE]\n\n")
        self._end_stream()

    def _openai_usage(self, call: _Call, answer: str, cached: int) -> dict[str, Any]:
        prompt, completion = _tokens(call.prompt_chars), _tokens(len(answer))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {
                "cached_tokens": self.provider.usage_cached_tokens or min(cached, prompt)
            },
        }

    # -- embeddings --------------------------------------------------------------------------

    def _embeddings(self, body: dict[str, Any]) -> None:
        raw = body.get("input")
        inputs = [raw] if isinstance(raw, str) else list(raw or [])
        call = _Call(
            model=str(body.get("model", "")),
            prompt_chars=sum(len(str(item)) for item in inputs),
            last_user_text="",
            stream=False,
        )
        with self.provider._lock:
            self.provider.embedding_batches.append(len(inputs))
        if self._fault(call, _openai_error) == "done":
            return
        data = [
            {"object": "embedding", "index": index, "embedding": _vector(str(item), self.provider)}
            for index, item in enumerate(inputs)
        ]
        tokens = _tokens(call.prompt_chars)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        self._send_json(200, {"object": "list", "data": data, "model": call.model, "usage": usage})

    # -- Anthropic ---------------------------------------------------------------------------

    def _anthropic_messages(self, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        call = _Call(
            model=str(body.get("model", "")),
            prompt_chars=len(_text(body.get("system")))
            + sum(len(_text(m.get("content"))) for m in messages),
            last_user_text=_last_user_text(messages),
            stream=bool(body.get("stream")),
        )
        action = self._fault(call, _anthropic_error)
        if action == "done":
            return
        answer = self.provider.answer_for(call)
        cached, written = self.provider.anthropic_cache(body)
        if self.provider.usage_cached_tokens:
            cached, written = self.provider.usage_cached_tokens, {}
        prompt, completion = _tokens(call.prompt_chars), _tokens(len(answer))
        write = sum(written.values())
        usage = {
            "input_tokens": max(0, prompt - cached - write),
            "output_tokens": completion,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": cached,
            "cache_creation": {
                "ephemeral_5m_input_tokens": written.get("5m", 0),
                "ephemeral_1h_input_tokens": written.get("1h", 0),
            },
        }
        message = {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": [{"type": "text", "text": answer}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }
        if not call.stream:
            if action == "malformed":
                self._send_json(200, None, raw='{"id": "msg_test", "type": "message", "cont')
                return
            self._send_json(200, message)
            return

        def event(name: str, data: dict[str, Any]) -> str:
            return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

        self._start_stream("text/event-stream")
        if action == "malformed":
            self._chunk('event: message_start\ndata: {"type": "message_start", "mess\n\n')
            self._end_stream()
            return
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {**usage, "output_tokens": 1},
        }
        self._chunk(event("message_start", {"message": start}))
        self._chunk(
            event(
                "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
            )
        )
        for index, piece in enumerate(_pieces(answer)):
            if action == "cut" and index >= 2:
                break
            if action == "stall" and index == 1:
                self._stall()
                return
            delta = {"type": "text_delta", "text": piece}
            self._chunk(event("content_block_delta", {"index": 0, "delta": delta}))
        if action == "cut":
            self._drop_connection()
            return
        self._chunk(event("content_block_stop", {"index": 0}))
        stop = {"stop_reason": "end_turn", "stop_sequence": None}
        self._chunk(event("message_delta", {"delta": stop, "usage": {"output_tokens": completion}}))
        self._chunk(event("message_stop", {}))
        self._end_stream()

    # -- Ollama ------------------------------------------------------------------------------

    def _ollama_chat(self, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        call = _Call(
            model=str(body.get("model", "")),
            prompt_chars=sum(len(_text(m.get("content"))) for m in messages),
            last_user_text=_last_user_text(messages),
            stream=bool(body.get("stream", True)),
        )
        self._ollama_answer(
            call, lambda piece: {"message": {"role": "assistant", "content": piece}}
        )

    def _ollama_generate(self, body: dict[str, Any]) -> None:
        prompt = str(body.get("prompt") or "")
        call = _Call(
            model=str(body.get("model", "")),
            prompt_chars=len(prompt) + len(str(body.get("system") or "")),
            last_user_text=prompt,
            stream=bool(body.get("stream", True)),
        )
        self._ollama_answer(call, lambda piece: {"response": piece})

    def _ollama_answer(self, call: _Call, content: Any) -> None:
        action = self._fault(call, _ollama_error)
        if action == "done":
            return
        answer = self.provider.answer_for(call)
        head = {"model": call.model, "created_at": "2025-01-01T00:00:00Z"}
        final = {
            "done": True,
            "done_reason": "stop",
            "total_duration": 1_000_000,
            "load_duration": 1000,
            "prompt_eval_count": _tokens(call.prompt_chars),
            "prompt_eval_duration": 1000,
            "eval_count": _tokens(len(answer)),
            "eval_duration": 1000,
        }
        if not call.stream:
            if action == "malformed":
                self._send_json(200, None, raw='{"model": "x", "message": {"rol')
                return
            self._send_json(200, {**head, **content(answer), **final})
            return
        self._start_stream("application/x-ndjson")
        if action == "malformed":
            self._chunk('{"model": "x", "message": {"rol\n')
            self._end_stream()
            return
        for index, piece in enumerate(_pieces(answer)):
            if action == "cut" and index >= 2:
                self._drop_connection()
                return
            if action == "stall" and index == 1:
                self._stall()
                return
            self._chunk(json.dumps({**head, **content(piece), "done": False}) + "\n")
        if action == "cut":
            self._drop_connection()
            return
        self._chunk(json.dumps({**head, **content(""), **final}) + "\n")
        self._end_stream()

    def _ollama_show(self, body: dict[str, Any]) -> None:
        self._send_json(
            200,
            {
                "modelfile": "",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": {
                    "format": "gguf",
                    "family": "llama",
                    "parameter_size": "135M",
                    "quantization_level": "Q8_0",
                },
                "model_info": {"general.architecture": "llama", "llama.context_length": 8192},
                "capabilities": ["completion"],
            },
        )

    def _ollama_tags(self, _body: dict[str, Any]) -> None:
        if self._list_fault(_ollama_error):
            return
        models = [
            {
                "name": name,
                "model": name,
                "modified_at": "2025-01-01T00:00:00Z",
                "size": 1,
                "digest": "0" * 64,
                "details": {"format": "gguf", "family": "llama"},
            }
            for name in self.provider.models
        ]
        self._send_json(200, {"models": models})


# -- helpers ---------------------------------------------------------------------------------


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters two strings share (a binary search over slices)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _anthropic_blocks(body: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(role, text, cache_control) of each block, in the order the model reads them:
    system, then every message's blocks (a string content is one block)."""
    found: list[tuple[str, str, Any]] = []
    turns = [{"role": "system", "content": body.get("system")}, *(body.get("messages") or [])]
    for turn in turns:
        content = turn.get("content")
        if isinstance(content, str):
            found.append((str(turn.get("role")), content, None))
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, dict):
                    text = str(block.get("text") or "")
                    found.append((str(turn.get("role")), text, block.get("cache_control")))
    return found


def _text(content: Any) -> str:
    """All text of a message content: a string, or a list of blocks with ``text``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text(block.get("text")) for block in content if isinstance(block, dict))
    return ""


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def _key_of(headers: dict[str, str]) -> str | None:
    """The key a request carries: ``Authorization: Bearer KEY`` or ``x-api-key``."""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:]
    return headers.get("x-api-key")


def _vector(text: str, provider: ProviderServer) -> list[float]:
    """A deterministic vector for ``text``: the same text gives the same numbers."""
    digest = hashlib.sha256(text.encode()).digest()
    return [round(digest[i % len(digest)] / 255, 6) for i in range(provider.embedding_dim)]


def _tokens(chars: int) -> int:
    return max(1, chars // 4)


def _pieces(answer: str) -> list[str]:
    """The answer split after each run of whitespace; joining the pieces gives it back exactly."""
    return re.split(r"(?<=\s)(?=\S)", answer) or [answer]


def _openai_error(status: int, message: str) -> dict[str, Any]:
    kinds = {400: "invalid_request_error", 401: "invalid_api_key", 429: "rate_limit_exceeded"}
    return {
        "error": {
            "message": message,
            "type": kinds.get(status, "server_error"),
            "param": None,
            "code": kinds.get(status, "server_error"),
        }
    }


def _anthropic_error(status: int, message: str) -> dict[str, Any]:
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
        529: "overloaded_error",
    }
    return {"type": "error", "error": {"type": kinds.get(status, "api_error"), "message": message}}


def _ollama_error(_status: int, message: str) -> dict[str, Any]:
    return {"error": message}
