"""A provider's 429 with ``Retry-After`` reaches the client as a 429 with the same wait: the
openai SDK (whole and streamed), Anthropic's Messages API, and ``ccw cli`` names
the wait in its error. A wait longer than ccw's own retry limit is passed on at once."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from ccw.errors import ExitCode
from ccw.history import open_history
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.gateway.conftest import KEY, Gateway, write_config

WAIT = 120  # beyond ccw's own longest retry wait: the refusal comes back at once
HI = [{"role": "user", "content": "hi"}]


def sdk(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=gw.v1, api_key=gw.token, max_retries=0, http_client=httpx.Client(trust_env=False)
    )


@pytest.mark.parametrize("model", ["gpt", "sonnet"])
def test_a_rate_limit_passes_its_retry_after_to_an_openai_client(
    gateway: Gateway, model: str
) -> None:
    gateway.provider.fail(429, retry_after=WAIT)
    with sdk(gateway) as client, pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model=model, messages=HI)  # type: ignore[arg-type]
    response = limited.value.response
    assert response.status_code == 429
    assert response.headers["retry-after"] == str(WAIT)
    assert f"wait {WAIT} s" in str(limited.value)
    with open_history() as history:
        latest = history.list(limit=1)[0]
    assert latest["errorKind"] == "rate_limit"


def test_a_streaming_request_refused_before_its_first_piece_gets_the_wait(
    gateway: Gateway,
) -> None:
    gateway.provider.fail(429, retry_after=90.5)
    with sdk(gateway) as client, pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="gpt", messages=HI, stream=True)  # type: ignore[arg-type]
    assert limited.value.response.headers["retry-after"] == "91"  # whole seconds, rounded up


def test_the_messages_api_answers_429_in_anthropics_shape_with_the_wait(
    gateway: Gateway,
) -> None:
    gateway.provider.fail(429, retry_after=WAIT)
    got = httpx.post(
        gateway.v1 + "/messages",
        json={"model": "sonnet", "max_tokens": 20, "messages": HI},
        headers={"anthropic-version": "2023-06-01", "x-api-key": gateway.token},
        trust_env=False,
        timeout=30,
    )
    assert got.status_code == 429
    assert got.headers["retry-after"] == str(WAIT)
    assert got.json()["type"] == "error"
    assert got.json()["error"]["type"] == "rate_limit_error"


def test_no_retry_after_header_when_the_provider_sent_none(gateway: Gateway) -> None:
    gateway.provider.fail(429, times=20)
    with sdk(gateway) as client, pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(
            model="gpt",
            messages=HI,  # type: ignore[arg-type]
            timeout=60,
        )
    assert "retry-after" not in limited.value.response.headers


def test_ccw_cli_names_the_providers_wait(
    project: Path, run_ccw: RunCcw, ccw_env: dict[str, str]
) -> None:
    with ProviderServer() as provider:
        write_config(project, provider.url + "/v1")
        provider.fail(429, retry_after=WAIT)
        done = run_ccw("cli", "-p", "hi", "--model", "gpt", env={**ccw_env, "TEST_GW_KEY": KEY})
    assert done.returncode == ExitCode.RATE_LIMIT, done.stderr
    assert f"wait {WAIT} s" in done.stderr
    assert f"retry in {WAIT} s" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_embeddings_rate_limit_comes_back_at_once_with_its_wait(gateway: Gateway) -> None:
    # LiteLLM reads max_retries=0 as its default for OpenAI embeddings; the SDK would then
    # sleep out the 120 s itself. ccw owns retries: the 429 comes back at once.
    gateway.provider.fail(429, retry_after=WAIT)
    with sdk(gateway) as client, pytest.raises(openai.RateLimitError) as limited:
        client.embeddings.create(model="vec", input=["hi"], timeout=60)
    assert limited.value.response.headers["retry-after"] == str(WAIT)
    embeddings = [r for r in gateway.provider.requests if r.path.endswith("/embeddings")]
    assert len(embeddings) == 1  # asked once, not retried by the SDK
