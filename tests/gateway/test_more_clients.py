"""Anthropic's Messages API, ``llm`` and LiteLLM itself as clients of the gateway, and a client
that leaves mid-stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ccw.history import open_history
from tests.gateway.conftest import KEY, Gateway

ANTHROPIC = {"anthropic-version": "2023-06-01"}


def messages_body(**more: object) -> dict[str, object]:
    return {
        "model": "gpt",
        "max_tokens": 50,
        "system": "be brief",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello claude"}]}],
        **more,
    }


def test_messages_api_whole_answer(gateway: Gateway) -> None:
    got = httpx.post(
        gateway.v1 + "/messages",
        json=messages_body(),
        headers={**ANTHROPIC, "x-api-key": gateway.token},
        trust_env=False,
        timeout=30,
    )
    assert got.status_code == 200, got.text
    answer = got.json()
    assert answer["type"] == "message" and answer["role"] == "assistant"
    assert answer["content"][0]["text"] == gateway.provider.reply
    assert answer["stop_reason"] == "end_turn"
    sent = gateway.provider.requests[-1].body
    assert sent["messages"][0] == {"role": "system", "content": "be brief"}
    assert "hello claude" in json.dumps(sent["messages"][-1])


def test_messages_api_streams_anthropic_events(gateway: Gateway) -> None:
    gateway.provider.reply = "one two three"
    with httpx.stream(
        "POST",
        gateway.v1 + "/messages",
        json=messages_body(stream=True),
        headers={**ANTHROPIC, "Authorization": f"Bearer {gateway.token}"},
        trust_env=False,
        timeout=30,
    ) as got:
        assert got.status_code == 200
        lines = [line for line in got.iter_lines() if line.startswith("data: ")]
    events = [json.loads(line[6:]) for line in lines]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    assert text == "one two three"


def test_messages_api_refusals_are_in_anthropics_shape(gateway: Gateway) -> None:
    wrong = httpx.post(
        gateway.v1 + "/messages",
        json=messages_body(),
        headers={**ANTHROPIC, "x-api-key": "nope"},
        trust_env=False,
    )
    assert wrong.status_code == 401
    assert wrong.json()["type"] == "error"
    assert wrong.json()["error"]["type"] == "authentication_error"
    unknown = httpx.post(
        gateway.v1 + "/messages",
        json=messages_body(model="nope"),
        headers={**ANTHROPIC, "x-api-key": gateway.token},
        trust_env=False,
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found_error"


def test_llm_with_an_extra_openai_model(gateway: Gateway, tmp_path: Path) -> None:
    user = tmp_path / "llm-user"
    user.mkdir()
    (user / "extra-openai-models.yaml").write_text(
        f"- model_id: ccw-gpt\n  model_name: gpt\n  api_base: {gateway.v1}\n  api_key_name: ccw\n"
    )
    (user / "keys.json").write_text(json.dumps({"ccw": gateway.token}))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "LLM_MODEL"}
    env.update(LLM_USER_PATH=str(user), LLM_LOAD_PLUGINS="", NO_PROXY="127.0.0.1")
    llm = Path(sys.executable).parent / "llm"
    for streaming in ([], ["--no-stream"]):
        done = subprocess.run(
            [str(llm), "-m", "ccw-gpt", *streaming, "hello from llm"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == gateway.provider.reply
    assert "hello from llm" in json.dumps(gateway.provider.requests[-1].body)


def test_litellm_as_a_client(gateway: Gateway) -> None:
    from ccw.exec.litellm_call import load_litellm

    litellm = load_litellm()
    hi = [{"role": "user", "content": "hello from litellm"}]
    whole = litellm.completion(
        model="openai/gpt", api_base=gateway.v1, api_key=gateway.token, messages=hi
    )
    assert whole.choices[0].message.content == gateway.provider.reply
    pieces = litellm.completion(
        model="openai/gpt", api_base=gateway.v1, api_key=gateway.token, messages=hi, stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in pieces) == gateway.provider.reply
    sent = gateway.provider.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {KEY}"


def test_a_client_leaving_mid_stream_stops_the_call(gateway: Gateway) -> None:
    words = 20000
    gateway.provider.reply = " ".join(f"w{i}" for i in range(words))
    with httpx.stream(
        "POST",
        gateway.v1 + "/chat/completions",
        json={"model": "gpt", "stream": True, "messages": [{"role": "user", "content": "go"}]},
        headers=gateway.auth,
        trust_env=False,
        timeout=30,
    ) as got:
        for line in got.iter_lines():
            if '"content": "w' in line:
                break  # leave after the first words
    deadline = time.monotonic() + 30
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline and not rows:
        with open_history() as history:
            rows = history.list(limit=1)
        time.sleep(0.05)
    with open_history() as history:
        record = history.get(str(rows[0]["id"]))
    assert record is not None
    assert record["errorKind"] == "interrupted", record["error"]
    assert "client went away" in str(record["error"])
    assert len(str(record["output"]).split()) < words


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:1"])
def test_a_page_of_another_origin_cannot_post(gateway: Gateway, origin: str) -> None:
    got = httpx.post(
        gateway.v1 + "/messages",
        json=messages_body(),
        headers={**ANTHROPIC, "x-api-key": gateway.token, "Origin": origin},
        trust_env=False,
    )
    assert got.status_code == 403
