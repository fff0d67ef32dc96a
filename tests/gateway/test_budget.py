"""Budgets on the gateway: a call that would cross a cap is refused before it reaches the
provider, as a 402 in the client's own error shape naming the budget, whole or streamed, on
the OpenAI and Anthropic routes alike; the refusal is in the history."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from ccw.history import open_history
from tests.gateway.conftest import Gateway

# About 1,000 tokens (four characters each): $0.0025 of gpt-4o input.
LONG = "Summarise this. " + "word " * 800


def sdk(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=gw.v1, api_key=gw.token, max_retries=0, http_client=httpx.Client(trust_env=False)
    )


def provider_calls(gw: Gateway) -> int:
    return sum(
        1 for r in gw.provider.requests if r.path in ("/v1/chat/completions", "/v1/messages")
    )


def cap_after_one_call(gw: Gateway, endpoint: str) -> float:
    """Make one small call, then set ``endpoint``'s daily cap just above what it cost: room
    for another small call, not for LONG. Returns the cap."""
    with sdk(gw) as client:
        client.chat.completions.create(model=endpoint, messages=[{"role": "user", "content": "hi"}])
    with open_history() as history:
        cost = history.list(limit=1)[0]["cost"]
    assert cost is not None and cost > 0
    config = gw.project / ".ccw/storage/config/litellm-api-config.json"
    data = json.loads(config.read_text())
    cap = round(cost + 0.001, 6)
    data["budgets"] = [{"endpoint": endpoint, "dailyUsd": cap}]
    config.write_text(json.dumps(data))
    return cap


@pytest.mark.parametrize("stream", [False, True])
def test_a_budget_refusal_is_a_402_naming_the_budget_and_sends_nothing(
    gateway: Gateway, stream: bool
) -> None:
    cap_after_one_call(gateway, "gpt")
    sent = provider_calls(gateway)
    with sdk(gateway) as client, pytest.raises(openai.APIStatusError) as refused:
        client.chat.completions.create(
            model="gpt", messages=[{"role": "user", "content": LONG}], stream=stream
        )
    assert provider_calls(gateway) == sent
    assert refused.value.status_code == 402
    error = refused.value.response.json()["error"]
    assert error["code"] == "budget" and error["type"] == "insufficient_quota"
    assert "refused by the daily budget of endpoint gpt" in error["message"]
    assert "ccw budget set --endpoint gpt --daily USD" in error["message"]
    with sdk(gateway) as client:  # a small call still fits
        client.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "hi"}])
    assert provider_calls(gateway) == sent + 1
    with open_history() as history:
        kinds = [row["errorKind"] for row in history.list(limit=3)]
    assert kinds == [None, "budget", None]


def test_the_anthropic_route_refuses_in_anthropics_shape(gateway: Gateway) -> None:
    cap_after_one_call(gateway, "gpt")
    sent = provider_calls(gateway)
    got = httpx.post(
        gateway.v1 + "/messages",
        headers={"x-api-key": gateway.token, "anthropic-version": "2023-06-01"},
        json={"model": "gpt", "max_tokens": 16, "messages": [{"role": "user", "content": LONG}]},
        trust_env=False,
    )
    assert got.status_code == 402, got.text
    assert got.json()["type"] == "error"
    assert got.json()["error"]["type"] == "billing_error"
    assert "daily budget of endpoint gpt" in got.json()["error"]["message"]
    assert provider_calls(gateway) == sent
