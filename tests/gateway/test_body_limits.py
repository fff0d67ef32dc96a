"""Every ``/v1`` route takes a body of at most 1 MiB (``CCW_GATEWAY_MAX_BODY``): a larger one
is a 413 in the client's error shape, refused on its ``Content-Length`` before it is read, or
as it streams in when it names none. A malformed request's 400 never echoes what it sent."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from ccw.errors import ExitCode, UsageError
from ccw.server.gateway.body import DEFAULT_MAX_BODY, max_body_bytes
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.gateway.conftest import KEY, Gateway, write_config

ROUTES = ["/chat/completions", "/embeddings", "/messages", "/responses"]
SECRET = "sk-live-NEVER-ECHOED-0123456789"
ANTHROPIC = {"anthropic-version": "2023-06-01"}


def big_chat(size: int) -> dict[str, object]:
    return {"model": "gpt", "messages": [{"role": "user", "content": "x" * size}]}


@pytest.mark.parametrize("route", ROUTES)
def test_a_body_over_one_mib_is_a_413_and_never_reaches_the_provider(
    gateway: Gateway, route: str
) -> None:
    got = httpx.post(
        gateway.v1 + route,
        json=big_chat(DEFAULT_MAX_BODY),
        headers={**gateway.auth, **ANTHROPIC},
        trust_env=False,
        timeout=30,
    )
    assert got.status_code == 413
    if route == "/messages":
        assert got.json()["error"]["type"] == "request_too_large"
    else:
        assert got.json()["error"]["code"] == "request_too_large"
        assert "CCW_GATEWAY_MAX_BODY" in got.json()["error"]["message"]
    assert gateway.provider.requests == []


def test_the_openai_sdk_sees_a_413_and_a_body_under_the_limit_passes(gateway: Gateway) -> None:
    with openai.OpenAI(
        base_url=gateway.v1,
        api_key=gateway.token,
        max_retries=0,
        http_client=httpx.Client(trust_env=False),
    ) as sdk:
        with pytest.raises(openai.APIStatusError) as refused:
            sdk.chat.completions.create(
                model="gpt",
                messages=[{"role": "user", "content": "x" * (DEFAULT_MAX_BODY + 1)}],
            )
        assert refused.value.status_code == 413
        answer = sdk.chat.completions.create(
            model="gpt", messages=[{"role": "user", "content": "y" * (DEFAULT_MAX_BODY - 1000)}]
        )
    assert answer.choices[0].message.content


def chunked(gateway: Gateway, parts: Iterator[bytes]) -> tuple[int, bytes]:
    """POST a body with no Content-Length (chunked), from a raw socket: the status and the
    reply, or (0, b"") when the server closed before answering."""
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(
            (
                "POST /v1/chat/completions HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {gateway.token}\r\n"
                "Content-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        try:
            for part in parts:
                conn.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused and closed while we were still sending
        reply = b""
        while b"\r\n\r\n" not in reply:
            piece = conn.recv(65536)
            if not piece:
                break
            reply += piece
    status = int(reply.split(b" ", 2)[1]) if reply else 0
    return status, reply


def test_a_chunked_body_is_counted_as_it_streams_in(gateway: Gateway) -> None:
    sent = {"bytes": 0}

    def parts() -> Iterator[bytes]:
        yield b'{"model": "gpt", "messages": [{"role": "user", "content": "'
        for _ in range(64):  # 4 MiB in all, unless the server stops reading
            sent["bytes"] += 65536
            yield b"z" * 65536
        yield b'"}]}'

    status, reply = chunked(gateway, parts())
    assert status == 413, reply[:300]
    assert gateway.provider.requests == []


def test_the_limit_is_configurable() -> None:
    assert max_body_bytes("2MiB") == 2 * 1024 * 1024
    assert max_body_bytes("512k") == 512 * 1024
    assert max_body_bytes("1000") == 1000
    assert max_body_bytes("") == DEFAULT_MAX_BODY
    for bad in ("lots", "0", "-5", "1.5M"):
        with pytest.raises(UsageError, match="CCW_GATEWAY_MAX_BODY"):
            max_body_bytes(bad)


def test_ccw_serve_refuses_a_bad_limit_with_the_fix(
    run_ccw: RunCcw, ccw_env: dict[str, str]
) -> None:
    done = run_ccw(
        "serve",
        "--port",
        "0",
        "--no-warm",
        env={**ccw_env, "CCW_GATEWAY_MAX_BODY": "lots"},
        timeout=60,
    )
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert "CCW_GATEWAY_MAX_BODY='lots' is not a size" in done.stderr
    assert "CCW_GATEWAY_MAX_BODY=4MiB" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/messages", {"model": "gpt", "max_tokens": 5, "messages": SECRET}),
        ("/messages", {"model": "gpt", "max_tokens": 5, "messages": [SECRET]}),
        (
            "/messages",
            {"model": "gpt", "max_tokens": SECRET, "messages": [{"role": "user", "content": "hi"}]},
        ),
        (
            "/messages",
            {"model": "gpt", "max_tokens": 5, "messages": [{"role": SECRET, "content": "hi"}]},
        ),
        (
            "/messages",
            {
                "model": "gpt",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": {"k": SECRET}}],
            },
        ),
        (
            "/messages",
            {
                "model": "gpt",
                "max_tokens": 5,
                "system": [{"text": SECRET}],
                "messages": [{"role": "user", "content": "hi"}],
            },
        ),
        (
            "/messages",
            {
                "model": "gpt",
                "max_tokens": 5,
                "thinking": SECRET,
                "messages": [{"role": "user", "content": "hi"}],
            },
        ),
        (
            "/messages",
            {
                "model": "gpt",
                "max_tokens": 5,
                "tools": SECRET,
                "messages": [{"role": "user", "content": "hi"}],
            },
        ),
        ("/responses", {"model": "gpt", "input": [SECRET]}),
        ("/responses", {"model": "gpt", "input": "hi", "tools": SECRET}),
        (
            "/chat/completions",
            {"model": "gpt", "messages": [{"role": "user", "content": [{"type": SECRET}]}]},
        ),
    ],
)
def test_a_malformed_request_is_a_400_that_does_not_echo_it(
    gateway: Gateway, route: str, body: dict[str, object]
) -> None:
    got = httpx.post(
        gateway.v1 + route,
        content=json.dumps(body),
        headers={**gateway.auth, **ANTHROPIC, "content-type": "application/json"},
        trust_env=False,
        timeout=60,
    )
    assert got.status_code == 400, got.text
    assert SECRET not in got.text
    assert gateway.provider.requests == []


def test_a_raised_limit_takes_a_larger_body(
    project: Path, provider: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ccw.server.gateway.local import local_gateway

    monkeypatch.setenv("TEST_GW_KEY", KEY)
    monkeypatch.setenv("CCW_GATEWAY_MAX_BODY", "2MiB")
    config_path = write_config(project, provider.url + "/v1")
    with local_gateway(config_path) as gw:
        auth = {"Authorization": f"Bearer {gw.token}"}
        fits = httpx.post(
            gw.url + "/v1/chat/completions",
            json=big_chat(3 * DEFAULT_MAX_BODY // 2),
            headers=auth,
            trust_env=False,
            timeout=60,
        )
        over = httpx.post(
            gw.url + "/v1/chat/completions",
            json=big_chat(2 * DEFAULT_MAX_BODY),
            headers=auth,
            trust_env=False,
            timeout=60,
        )
    assert fits.status_code == 200, fits.text
    assert over.status_code == 413
    assert "at most 2097152 bytes" in over.json()["error"]["message"]
    assert len(provider.requests) == 1
