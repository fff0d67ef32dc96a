"""The test provider answers real litellm calls on every wire format and injects its faults."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.provider_server import ProviderServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

ROUTES = ["openai", "anthropic", "ollama_chat"]


@pytest.fixture(scope="module")
def litellm() -> Any:
    import litellm as module

    module.suppress_debug_info = True
    return module


@pytest.fixture
def srv() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


def complete(litellm: Any, srv: ProviderServer, route: str, **kwargs: Any) -> Any:
    base = srv.url + "/v1" if route == "openai" else srv.url
    kwargs.setdefault("messages", [{"role": "user", "content": "Say hello to the tests."}])
    return litellm.completion(
        model=f"{route}/x", api_base=base, api_key="sk-test", num_retries=0, max_tokens=16, **kwargs
    )


def stream_text(response: Any) -> tuple[str, list[Any]]:
    chunks = list(response)
    text = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
    return text, chunks


@pytest.mark.parametrize("route", ROUTES)
def test_plain_and_streamed_answers(litellm: Any, srv: ProviderServer, route: str) -> None:
    response = complete(litellm, srv, route)
    assert response.choices[0].message.content == "Hello from the test provider."
    assert response.usage.completion_tokens == len("Hello from the test provider.") // 4
    assert response.usage.prompt_tokens >= 1

    text, chunks = stream_text(complete(litellm, srv, route, stream=True))
    assert text == "Hello from the test provider."
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 2
    calls = [r for r in srv.requests if r.path != "/api/show"]  # litellm may ask in a thread
    assert [bool(r.body.get("stream")) for r in calls] == [False, True]


def test_openai_stream_usage_and_cached_tokens(litellm: Any, srv: ProviderServer) -> None:
    srv.usage_cached_tokens = 2
    response = complete(litellm, srv, "openai", stream=True, stream_options={"include_usage": True})
    text, chunks = stream_text(response)
    usage = next(c.usage for c in reversed(chunks) if getattr(c, "usage", None))
    assert usage.completion_tokens == len(text) // 4
    assert usage.prompt_tokens_details.cached_tokens == 2
    request = srv.requests[-1]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"


def test_anthropic_reports_cache_reads_and_passes_cache_control(
    litellm: Any, srv: ProviderServer
) -> None:
    srv.usage_cached_tokens = 3
    block = {"type": "text", "text": "x" * 40, "cache_control": {"type": "ephemeral"}}
    messages = [{"role": "user", "content": [block, {"type": "text", "text": "Question?"}]}]
    response = complete(litellm, srv, "anthropic", messages=messages)
    assert response.usage.cache_read_input_tokens == 3
    assert response.usage.prompt_tokens == len("x" * 40 + "\nQuestion?") // 4
    sent = srv.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-test"
    assert sent.body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}


@pytest.mark.parametrize("route", [*ROUTES, "ollama"])
def test_echo_returns_the_last_user_message(litellm: Any, srv: ProviderServer, route: str) -> None:
    srv.echo = True
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "echo these exact words"},
    ]
    response = complete(litellm, srv, route, messages=messages)
    assert "echo these exact words" in response.choices[0].message.content
    if route != "ollama":
        assert response.choices[0].message.content == "echo these exact words"


def test_ollama_metadata_routes(srv: ProviderServer) -> None:
    with httpx.Client(base_url=srv.url) as client:
        tags = client.get("/api/tags").json()
        assert [m["name"] for m in tags["models"]] == ["test-model"]
        assert client.post("/api/show", json={"name": "test-model"}).status_code == 200
        models = client.get("/v1/models").json()
        assert models["data"][0]["id"] == "test-model"
        assert client.get("/nowhere").status_code == 404


def test_ollama_stream_is_ndjson_ending_with_done(srv: ProviderServer) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}
    with httpx.Client() as client:
        lines = client.post(srv.url + "/api/chat", json=body).text.splitlines()
    events = [json.loads(line) for line in lines]
    assert all(not e["done"] for e in events[:-1])
    assert events[-1]["done"] is True
    assert events[-1]["prompt_eval_count"] == 2
    assert events[-1]["eval_count"] == len("Hello from the test provider.") // 4


def test_openai_stream_wire_shape(srv: ProviderServer) -> None:
    body = {
        "model": "m",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "hi"}],
    }
    with httpx.Client() as client:
        text = client.post(srv.url + "/v1/chat/completions", json=body).text
    data = [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    content = [c for c in chunks if c["choices"]]
    assert [c["choices"][0]["finish_reason"] for c in content][-1] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in content[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 1


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("status", "error"),
    [(401, "AuthenticationError"), (429, "RateLimitError"), (500, "InternalServerError")],
)
def test_injected_status_errors(
    litellm: Any, srv: ProviderServer, route: str, status: int, error: str
) -> None:
    srv.fail(status, retry_after=7 if status == 429 else None, message="injected")
    with pytest.raises(getattr(litellm, error)) as caught:
        complete(litellm, srv, route)
    assert caught.value.status_code == status
    if status == 429:
        assert caught.value.litellm_response_headers["retry-after"] == "7"
    assert complete(litellm, srv, route).choices[0].message.content


def test_faults_are_used_in_order_and_counted(litellm: Any, srv: ProviderServer) -> None:
    srv.fail(500, times=2)
    srv.fail(401)
    for expected in ("InternalServerError", "InternalServerError", "AuthenticationError"):
        with pytest.raises(getattr(litellm, expected)):
            complete(litellm, srv, "openai")
    complete(litellm, srv, "openai")
    with httpx.Client() as client:
        srv.fail(500)
        assert client.get(srv.url + "/v1/models").status_code == 200
        assert client.post(srv.url + "/v1/chat/completions", json={}).status_code == 500


def test_slow_reply_times_out(litellm: Any, srv: ProviderServer) -> None:
    srv.slow(30)
    with pytest.raises(litellm.Timeout):
        complete(litellm, srv, "openai", timeout=0.3)
    srv.slow(0.01)
    assert complete(litellm, srv, "openai").choices[0].message.content


@pytest.mark.parametrize("route", ROUTES)
def test_malformed_json_is_an_error(litellm: Any, srv: ProviderServer, route: str) -> None:
    srv.malformed()
    expected = litellm.InternalServerError if route == "openai" else litellm.APIConnectionError
    with pytest.raises(expected):
        complete(litellm, srv, route)


def test_malformed_stream(litellm: Any, srv: ProviderServer) -> None:
    from litellm.exceptions import MidStreamFallbackError

    srv.malformed()
    with pytest.raises(MidStreamFallbackError):
        stream_text(complete(litellm, srv, "openai", stream=True))


@pytest.mark.parametrize("route", ROUTES)
def test_cut_stream_raises_after_first_chunks(
    litellm: Any, srv: ProviderServer, route: str
) -> None:
    from litellm.exceptions import MidStreamFallbackError

    srv.cut_stream()
    complete(litellm, srv, route)  # a plain call does not use up a stream cut
    received: list[str] = []
    with pytest.raises(MidStreamFallbackError):
        for chunk in complete(litellm, srv, route, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)
    assert "".join(received) == "Hello from "
    text, _ = stream_text(complete(litellm, srv, route, stream=True))
    assert text == "Hello from the test provider."


def test_model_list_faults_are_opt_in_and_shaped_like_the_route(srv: ProviderServer) -> None:
    with httpx.Client(base_url=srv.url) as client:
        srv.fail(401, routes="models", message="bad key")
        srv.fail(429, routes="models", retry_after=3)
        srv.fail(403, routes="models", message="no access")
        srv.fail(503, routes="all")
        srv.malformed(routes="models")
        denied = client.get("/v1/models")
        assert denied.status_code == 401
        assert denied.json()["error"]["message"] == "bad key"
        limited = client.get("/models")
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
        forbidden = client.get("/v1/models", headers={"anthropic-version": "2023-06-01"})
        assert forbidden.json() == {
            "type": "error",
            "error": {"type": "permission_error", "message": "no access"},
        }
        assert client.post("/v1/chat/completions", json={}).status_code == 503
        broken = client.get("/api/tags")
        assert broken.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            broken.json()
        assert client.get("/api/tags").json()["models"][0]["name"] == "test-model"


def test_a_model_list_fault_waits_for_a_list_request(srv: ProviderServer) -> None:
    """FIFO: a list-only fault at the head holds back a call fault queued behind it."""
    with httpx.Client(base_url=srv.url) as client:
        srv.fail(404, routes="models", message="gone")
        srv.fail(500)
        assert client.post("/v1/chat/completions", json={}).status_code == 200
        assert client.get("/api/tags").json() == {"error": "gone"}
        assert client.get("/v1/models").status_code == 200
        assert client.post("/api/chat", json={"stream": False}).status_code == 500


def test_a_slow_model_list(srv: ProviderServer) -> None:
    srv.slow(30, routes="models")
    with httpx.Client(base_url=srv.url, timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.get("/v1/models")


def test_a_fail_can_echo_the_request_headers(srv: ProviderServer) -> None:
    srv.fail(401, echo_headers=True)
    with httpx.Client() as client:
        denied = client.post(
            srv.url + "/v1/chat/completions", json={}, headers={"x-tenant": "Bearer t-123"}
        )
    assert denied.status_code == 401
    assert "Bearer t-123" in denied.json()["error"]["message"]


def test_redirect_to_another_server_records_what_reaches_it(srv: ProviderServer) -> None:
    with ProviderServer() as other, httpx.Client(follow_redirects=True) as client:
        srv.redirect(other.url)
        moved = client.post(
            srv.url + "/v1/messages", json={}, headers={"x-api-key": "k", "x-tenant": "t"}
        )
        assert moved.history[0].status_code == 307
        assert moved.history[0].headers["location"] == other.url + "/v1/messages"
        assert other.requests[0].path == "/v1/messages"
        assert other.credentials_seen() == ["x-api-key"]
        assert other.credentials_seen(("X-Tenant",)) == ["x-api-key", "x-tenant"]


def test_redirect_loop(srv: ProviderServer) -> None:
    srv.redirect_loop()
    with httpx.Client(follow_redirects=True) as client, pytest.raises(httpx.TooManyRedirects):
        client.post(srv.url + "/api/chat", json={})


@pytest.mark.parametrize("route", ROUTES)
def test_stall_sends_the_first_chunk_then_nothing(srv: ProviderServer, route: str) -> None:
    srv.stall(30)
    path = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}.get(route, "/api/chat")
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    received = b""
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=0.5)) as client,
        client.stream("POST", srv.url + path, json=body) as response,
        pytest.raises(httpx.ReadTimeout),
    ):
        for chunk in response.iter_raw():
            received += chunk
    assert b"Hello" in received and b"from" not in received


@pytest.mark.parametrize(
    ("path", "stream", "expected"),
    [
        ("/v1/chat/completions", False, '{"error": {"message": "no such model"'),
        ("/v1/chat/completions", True, 'data: {"error": {"message": "no such model"'),
        ("/v1/messages", True, 'event: error\ndata: {"type": "error", "error": {"type": "invali'),
        ("/api/chat", True, '{"error": "no such model"}'),
    ],
)
def test_error_in_a_200_reply(srv: ProviderServer, path: str, stream: bool, expected: str) -> None:
    srv.error_in_ok("no such model")
    with httpx.Client() as client:
        reply = client.post(srv.url + path, json={"model": "m", "stream": stream, "messages": []})
    assert reply.status_code == 200
    assert reply.text.startswith(expected)
