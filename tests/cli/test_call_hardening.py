"""``ccw cli`` against hostile or broken providers: echoed credentials, redirects to another
origin, redirect loops, stalled streams and errors sent with status 200."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import endpoint, provider, write_config
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.server.conftest import MakeDashboard, make_dashboard, server_env  # noqa: F401

KEY = "sk-canary-KEYVALUE-5f0e1d2c3b4a"
HEADER_VAR_VALUE = "hdr-canary-FROMVAR-77aa88bb99cc"
HEADER_LITERAL = "lit-canary-LITERAL-11dd22ee33ff"
CANARIES = (KEY, HEADER_VAR_VALUE, HEADER_LITERAL)
ENV = {"CANARY_KEY": KEY, "CANARY_HEADER": HEADER_VAR_VALUE}
HEADERS = {"X-Tenant": "Bearer ${CANARY_HEADER}", "X-Org-Ident": HEADER_LITERAL}


@pytest.fixture
def other() -> Iterator[ProviderServer]:
    """A second provider on another port: the origin a redirect points to."""
    with ProviderServer() as srv:
        yield srv


def _configure(project: Path, server: ProviderServer, **endpoint_extra: object) -> Path:
    """One endpoint per wire format, all with the canary key and canary headers."""
    keyed = {"apiKey": "${CANARY_KEY}", "customHeaders": HEADERS, "maxRetries": 0}
    return write_config(
        project,
        {
            "providers": [
                provider("oai", "openai", server.url + "/v1", **keyed),
                provider("ant", "anthropic", server.url, **keyed),
                provider("oll", "ollama", server.url, customHeaders=HEADERS, maxRetries=0),
            ],
            "endpoints": [
                endpoint("gpt", "oai", maxTokens=64, **endpoint_extra),
                endpoint("claude", "ant", "claude-x", maxTokens=64, **endpoint_extra),
                endpoint("llama", "oll", "llama3.2", maxTokens=64, **endpoint_extra),
            ],
            "defaultEndpoint": "gpt",
            "allowedEnvVars": ["CANARY_KEY", "CANARY_HEADER"],
        },
    )


def _no_canary(*texts: str | bytes) -> None:
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        for canary in CANARIES:
            assert canary.encode() not in data, f"{canary} leaked: {data[:300]!r}"


def _data_bytes(tmp_path: Path) -> bytes:
    """Every byte ccw stored under its data dir (the history database and its WAL)."""
    return b"".join(p.read_bytes() for p in sorted((tmp_path / "data").rglob("*")) if p.is_file())


def test_echoed_credentials_appear_nowhere(
    run_ccw: RunCcw,
    project: Path,
    server: ProviderServer,
    tmp_path: Path,
    make_dashboard: MakeDashboard,  # noqa: F811
) -> None:
    _configure(project, server)
    done = []
    for model, status, extra in (
        ("gpt", 401, ["--json"]),
        ("claude", 500, ["--json"]),
        ("llama", 401, []),
        ("claude", 401, []),
    ):
        server.fail(status, echo_headers=True)
        result = run_ccw("cli", "-p", "hello", "--model", model, *extra, env=ENV)
        assert result.returncode in (10, 13), result.stderr
        assert "Request headers" in (result.stdout + result.stderr)  # the echo is shown...
        done += [result.stdout, result.stderr]
    sent = [r.headers for r in server.requests if r.method == "POST"]
    assert any(h.get("x-tenant") == f"Bearer {HEADER_VAR_VALUE}" for h in sent)  # ...and real
    assert any(h.get("x-api-key") == KEY for h in sent)
    assert json.loads(done[0])["error"]
    history = run_ccw("cli", "history", "--json")
    calls = json.loads(history.stdout)["calls"]
    assert len(calls) == 4
    details = [run_ccw("cli", "detail", call["id"], "--json").stdout for call in calls]
    listed = make_dashboard().api("GET", "/history")
    assert listed.status_code == 200
    assert len(listed.text) > 100
    _no_canary(*done, history.stdout, *details, listed.text, _data_bytes(tmp_path))


@pytest.mark.parametrize("model", ["gpt", "claude", "llama"])
def test_redirect_to_another_origin_is_refused(
    run_ccw: RunCcw, project: Path, server: ProviderServer, other: ProviderServer, model: str
) -> None:
    _configure(project, server)
    server.redirect(other.url)
    result = run_ccw("cli", "-p", "hello", "--model", model, "--json", env=ENV)
    assert result.returncode == 13, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["errorKind"] == "redirect_refused"
    assert server.url in answer["error"] and other.url in answer["error"]
    assert other.requests == []
    assert other.credentials_seen(tuple(HEADERS)) == []


def test_redirect_loop_is_its_own_error(
    run_ccw: RunCcw, project: Path, server: ProviderServer
) -> None:
    _configure(project, server)
    server.redirect_loop()
    result = run_ccw("cli", "-p", "hello", "--model", "claude", env=ENV)
    assert result.returncode == 13, result.stderr
    assert "redirect loop" in result.stderr
    assert "unreachable" not in result.stderr


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_a_stalled_stream_is_cut_at_the_idle_deadline(
    run_ccw: RunCcw, project: Path, server: ProviderServer, model: str
) -> None:
    _configure(project, server, idleTimeout=1)
    server.stall(600)
    result = run_ccw("cli", "-p", "hello", "--model", model, env=ENV)
    assert result.returncode == 14, result.stderr
    assert result.stdout.startswith("Hello")  # the first chunk was shown
    assert "idleTimeout" in result.stderr


@pytest.mark.parametrize("stream", [True, False])
def test_an_error_in_a_200_reply_is_a_bad_request_either_way(
    run_ccw: RunCcw, project: Path, server: ProviderServer, stream: bool
) -> None:
    _configure(project, server)
    server.error_in_ok("The model does not exist.", times=3)
    extra = [] if stream else ["--no-stream"]
    result = run_ccw("cli", "-p", "hello", "--model", "gpt", *extra, env=ENV)
    assert result.returncode == 12, result.stdout + result.stderr
    assert result.stdout == ""
    assert "The model does not exist." in result.stderr
    assert len([r for r in server.requests if r.method == "POST"]) == 1  # never retried
