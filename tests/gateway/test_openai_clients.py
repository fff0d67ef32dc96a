"""The official openai SDK against the gateway: chat (whole and streamed), embeddings, models,
errors in OpenAI's shape, and every call in ccw's history under the client's name."""

from __future__ import annotations

import httpx
import openai
import pytest

from ccw.history import open_history
from tests.gateway.conftest import KEY, Gateway


def client(gw: Gateway, token: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=gw.v1,
        api_key=token or gw.token,
        max_retries=0,
        http_client=httpx.Client(trust_env=False),
    )


def test_chat_completion_reaches_the_provider_and_is_recorded(gateway: Gateway) -> None:
    with client(gateway) as sdk:
        answer = sdk.chat.completions.create(
            model="gpt",
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hello gateway"},
            ],
        )
    assert answer.choices[0].message.content == gateway.provider.reply
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.completion_tokens > 0
    sent = gateway.provider.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {KEY}"  # ccw's key, not the client's token
    assert sent.body["model"] == "gpt-4o"
    assert sent.body["messages"][0] == {"role": "system", "content": "be brief"}
    assert sent.body["messages"][-1]["content"] == "hello gateway"
    with open_history() as history:
        rows = history.list(limit=5)
    assert rows[0]["tool"] == "OpenAI"
    assert rows[0]["endpointId"] == "gpt"
    assert gateway.token not in str(rows) and KEY not in str(rows)


def test_streaming_chat_arrives_in_pieces(gateway: Gateway) -> None:
    gateway.provider.reply = "one two three four"
    pieces: list[str] = []
    finish = None
    usage = None
    with client(gateway) as sdk:
        stream = sdk.chat.completions.create(
            model="gpt",
            messages=[{"role": "user", "content": "count"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in stream:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
            usage = chunk.usage or usage
    assert "".join(pieces) == "one two three four"
    assert len([p for p in pieces if p]) > 1
    assert finish == "stop" and usage is not None


def test_embeddings_and_models(gateway: Gateway) -> None:
    with client(gateway) as sdk:
        vectors = sdk.embeddings.create(model="vec", input=["a", "b"])
        ids = [m.id for m in sdk.models.list()]
    assert [v.index for v in vectors.data] == [0, 1]
    assert len(vectors.data[0].embedding) == gateway.provider.embedding_dim
    assert {"gpt", "sonnet", "vec"} <= set(ids) and "off" not in ids


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_a_missing_or_wrong_token_is_a_401_in_openais_shape(
    gateway: Gateway, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    got = httpx.post(
        gateway.v1 + "/chat/completions",
        json={"model": "gpt", "messages": [{"role": "user", "content": "hi"}]},
        headers=headers,
        trust_env=False,
    )
    assert got.status_code == 401
    error = got.json()["error"]
    assert error["type"] == "authentication_error" and "ccw serve token" in error["message"]
    assert gateway.provider.requests == []
    with client(gateway, "wrong") as sdk, pytest.raises(openai.AuthenticationError):
        sdk.models.list()


def test_an_unknown_model_is_a_404_and_a_rate_limit_a_429_with_retry_after(
    gateway: Gateway,
) -> None:
    hi = [{"role": "user", "content": "hi"}]
    gateway.provider.fail(429, times=10, retry_after=1)  # ccw's own retries take some
    with client(gateway) as sdk:
        with pytest.raises(openai.NotFoundError) as missing:
            sdk.chat.completions.create(model="nope", messages=hi)  # type: ignore[arg-type]
        with pytest.raises(openai.RateLimitError) as limited:
            sdk.chat.completions.create(model="gpt", messages=hi)  # type: ignore[arg-type]
    assert "nope" in str(missing.value)
    assert limited.value.response.status_code == 429


def test_a_browser_page_of_another_origin_is_refused(gateway: Gateway) -> None:
    got = httpx.post(
        gateway.v1 + "/chat/completions",
        json={"model": "gpt", "messages": [{"role": "user", "content": "hi"}]},
        headers={**gateway.auth, "Origin": "https://evil.example"},
        trust_env=False,
    )
    assert got.status_code == 403
    assert gateway.provider.requests == []


def test_responses_api_whole_and_streamed(gateway: Gateway) -> None:
    gateway.provider.reply = "alpha beta gamma"
    with client(gateway) as sdk:
        whole = sdk.responses.create(model="gpt", instructions="be brief", input="hello responses")
        events = list(sdk.responses.create(model="gpt", input="again", stream=True))
    assert whole.output_text == "alpha beta gamma"
    assert whole.usage is not None and whole.usage.output_tokens > 0
    sent = gateway.provider.requests[0].body
    assert sent["messages"][0] == {"role": "system", "content": "be brief"}
    assert "hello responses" in str(sent["messages"][-1])
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "alpha beta gamma" and len(deltas) > 1
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "alpha beta gamma"
