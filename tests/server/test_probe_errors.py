"""Each failure class of a connection test, through `ccw provider test ID --json` and the library.

The loopback provider injects its faults on the model lists the probe asks for, and echoes
the key in its error bodies, as some real providers do; the key never reaches any output.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ccw.config.schema import Provider
from ccw.exec import probe
from ccw.paths import CONFIG_RELATIVE
from tests.conftest import RunCcw
from tests.fakes.ports import free_port
from tests.fakes.provider_server import ProviderServer

SECRET = "sk-test-SECRET-abcdef1234567890"
KEY_VAR = "CCW_PROBE_TEST_KEY"
ECHO = f"Incorrect API key provided: {SECRET}. Check it at the console."
TIMEOUT = 0.3
TYPES = ["openai", "anthropic", "ollama"]
LIST_PATHS = {"openai": "/v1/models", "anthropic": "/v1/models", "ollama": "/api/tags"}


@dataclass(frozen=True)
class Case:
    """One failure: how to provoke it on the fake, and what the probe must answer."""

    name: str
    kind: str
    inject: Callable[[ProviderServer], None]
    status: int | None = None  # the HTTP status the error message names
    reaches_server: bool = True


def _fail(status: int, **more: Any) -> Callable[[ProviderServer], None]:
    return lambda srv: srv.fail(status, routes="models", message=ECHO, **more)


def _nothing(_srv: ProviderServer) -> None:
    return None


CASES = [
    Case("401", "authentication", _fail(401), 401),
    Case("403", "authentication", _fail(403), 403),
    Case("429", "rate_limit", _fail(429, retry_after=5), 429),
    Case("500", "server_error", _fail(500), 500),
    Case("503", "server_error", _fail(503), 503),
    Case("404", "not_found", _fail(404), 404),
    Case("timeout", "timeout", lambda srv: srv.slow(30, routes="models")),
    Case("malformed", "bad_response", lambda srv: srv.malformed(routes="models")),
    Case("closed-port", "unreachable", _nothing, reaches_server=False),
    Case("missing-var", "missing_key", _nothing, reaches_server=False),
]
MATRIX = [
    pytest.param(case, ptype, literal, id=f"{case.name}-{ptype}-{'literal' if literal else 'env'}")
    for index, case in enumerate(CASES)
    for offset, ptype in enumerate(TYPES)
    for literal in [(index + offset) % 2 == 0]
]


def _provider(case: Case, ptype: str, literal: bool, fake: ProviderServer) -> dict[str, Any]:
    """The stored provider, as JSON: the key a literal or an environment reference."""
    base = fake.url if case.name != "closed-port" else f"http://127.0.0.1:{free_port()}"
    if ptype == "openai":
        base += "/v1"
    key = SECRET if literal else "${" + KEY_VAR + "}"
    if case.name == "missing-var":
        key = "${CCW_PROBE_TEST_UNSET}"
    return {"id": "p", "type": ptype, "apiKey": key, "apiBase": base, "timeout": TIMEOUT}


def _check(case: Case, ptype: str, answer: dict[str, Any], fake: ProviderServer) -> None:
    assert answer["success"] is False
    assert answer["errorKind"] == case.kind, answer
    assert isinstance(answer["latencyMs"], int) and answer["latencyMs"] >= 0
    assert answer["error"]
    if case.status is not None:
        assert f"HTTP {case.status}" in answer["error"]
        assert "sk-…7890" in answer["error"]  # the echoed key, masked
    if case.name == "missing-var":
        assert "CCW_PROBE_TEST_UNSET" in answer["error"]
    if case.reaches_server:
        seen = fake.requests[-1]
        assert (seen.method, seen.path) == ("GET", LIST_PATHS[ptype])
        auth = seen.headers.get("x-api-key") or seen.headers["authorization"]
        assert SECRET in auth
    else:
        assert fake.requests == []


@pytest.mark.parametrize(("case", "ptype", "literal"), MATRIX)
def test_the_library_classifies_each_failure(
    case: Case, ptype: str, literal: bool, fake: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VAR, SECRET)
    monkeypatch.delenv("CCW_PROBE_TEST_UNSET", raising=False)
    stored = Provider.model_validate(_provider(case, ptype, literal, fake))
    case.inject(fake)
    result = probe.test_provider(stored, timeout=TIMEOUT)
    answer = result.to_dict()
    _check(case, ptype, answer, fake)
    assert SECRET not in repr(result) and SECRET not in json.dumps(answer)


@pytest.mark.parametrize(("case", "ptype", "literal"), MATRIX)
def test_the_cli_classifies_each_failure(
    case: Case,
    ptype: str,
    literal: bool,
    fake: ProviderServer,
    run_ccw: RunCcw,
    project: Path,
) -> None:
    config = {"version": 1, "providers": [_provider(case, ptype, literal, fake)]}
    path = project / CONFIG_RELATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    case.inject(fake)
    done = run_ccw("provider", "test", "p", "--json", env={KEY_VAR: SECRET})
    assert done.returncode != 0, done.stdout + done.stderr
    assert SECRET not in done.stdout and SECRET not in done.stderr
    assert "Traceback" not in done.stderr
    _check(case, ptype, json.loads(done.stdout), fake)


def test_success_answers_the_model_count_through_the_cli(
    fake: ProviderServer, run_ccw: RunCcw, project: Path
) -> None:
    fake.models = ["a", "b"]
    provider = {"id": "ok", "type": "anthropic", "apiKey": "${" + KEY_VAR + "}"}
    path = project / CONFIG_RELATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "providers": [{**provider, "apiBase": fake.url}]}))
    done = run_ccw("provider", "test", "ok", "--json", env={KEY_VAR: SECRET})
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["success"], answer["errorKind"], answer["models"]) == (True, None, 2)
    assert SECRET not in done.stdout + done.stderr


def test_references_in_base_and_headers_are_resolved_and_kept_secret(
    fake: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a real call does: ``${VAR}`` in apiBase and custom headers; header secrets masked."""
    monkeypatch.setenv("CCW_PROBE_PORT", fake.url.rsplit(":", 1)[1])
    monkeypatch.setenv("CCW_PROBE_GATEWAY", SECRET)
    stored = Provider(
        id="gw",
        type="custom",
        api_base="http://127.0.0.1:${CCW_PROBE_PORT}/v1",
        custom_headers={"Authorization": "Bearer ${CCW_PROBE_GATEWAY}", "X-Team": "blue"},
    )
    allowed = {"CCW_PROBE_PORT", "CCW_PROBE_GATEWAY", "CCW_PROBE_NO_PORT"}
    refused = probe.test_provider(stored)
    assert refused.error_kind == "env_not_allowed" and "CCW_PROBE_PORT" in (refused.error or "")
    assert probe.test_provider(stored, allowed_env=allowed).success
    assert fake.requests[-1].headers["authorization"] == f"Bearer {SECRET}"

    fake.fail(401, routes="models", message=ECHO)
    result = probe.test_provider(stored, allowed_env=allowed)
    assert result.error_kind == "authentication" and SECRET not in repr(result)

    literal = stored.model_copy(update={"custom_headers": {"X-Api-Key": SECRET}})
    fake.fail(403, routes="models", message=ECHO)
    assert SECRET not in repr(probe.test_provider(literal, allowed_env=allowed))

    monkeypatch.delenv("CCW_PROBE_GATEWAY")
    missing = probe.test_provider(stored, allowed_env=allowed)
    assert missing.error_kind == "missing_key" and "CCW_PROBE_GATEWAY" in (missing.error or "")

    gone = stored.model_copy(update={"api_base": "http://127.0.0.1:${CCW_PROBE_NO_PORT}/v1"})
    unreachable = probe.test_provider(gone, allowed_env=allowed)
    assert unreachable.error_kind == "unreachable"
    assert "CCW_PROBE_NO_PORT" in (unreachable.error or "")


def test_an_unreadable_body_is_a_bad_response() -> None:
    """A body that is not the gzip its headers claim: classified, not raised."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        stored = Provider(id="z", type="custom", api_base=f"http://127.0.0.1:{port}/v1")

        def answer() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-encoding: gzip\r\ncontent-length: 5\r\n\r\nxxxxx"
                )

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        result = probe.test_provider(stored, timeout=5)
        thread.join(5)
    assert (result.success, result.error_kind) == (False, "bad_response")
    assert "/v1/models" in (result.error or "")


def test_every_custom_header_value_and_api_keys_entry_is_kept_out_of_messages(
    fake: ProviderServer,
) -> None:
    """A header with an innocent name and an ``apiKeys[]`` entry are credentials too."""
    stored = Provider.model_validate(
        {
            "id": "gw",
            "type": "custom",
            "apiBase": fake.url + "/v1",
            "customHeaders": {"X-Team-Code": "team-code-7f3a9c2e"},
            "apiKeys": [{"id": "k1", "key": "sk-pool-entry-0000aaaa1111"}],
        }
    )
    fake.fail(
        401,
        routes="models",
        message="echo: X-Team-Code=team-code-7f3a9c2e sk-pool-entry-0000aaaa1111",
    )
    result = probe.test_provider(stored)
    assert result.error_kind == "authentication"
    assert "team-code-7f3a9c2e" not in repr(result)
    assert "sk-pool-entry-0000aaaa1111" not in repr(result)
