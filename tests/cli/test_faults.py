"""Provider faults through the library call ``execute``: classes, exit codes and retries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ccw.exec import events
from ccw.exec.run import RunOptions, execute
from tests.cli.conftest import SECRET, endpoint, provider, write_config
from tests.fakes.ports import free_port
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path) -> None:
    monkeypatch.setenv("CCW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TEST_OPENAI_KEY", SECRET)


def _options(project: Path, config: Path, **extra: object) -> RunOptions:
    return RunOptions(prompt="hello", cwd=project, config=config, **extra)  # type: ignore[arg-type]


def _answer_into(pieces: list[str]) -> events.OnEvent:
    """An ``on_event`` that keeps the answer's pieces."""

    def on_event(event: events.Event) -> None:
        if isinstance(event, events.Text):
            pieces.append(event.piece)

    return on_event


def _posts(server: ProviderServer) -> int:
    return len([r for r in server.requests if r.method == "POST"])


@pytest.fixture
def config(project: Path, server: ProviderServer) -> Path:
    return write_config(
        project,
        {
            "providers": [
                provider("oai", "openai", server.url + "/v1", apiKey="${TEST_OPENAI_KEY}"),
                provider("ant", "anthropic", server.url, apiKey="${TEST_OPENAI_KEY}"),
            ],
            "endpoints": [endpoint("gpt", "oai"), endpoint("claude", "ant", "claude-x")],
            "defaultEndpoint": "gpt",
        },
    )


@pytest.mark.usefixtures("env")
def test_server_errors_are_retried_then_succeed(
    project: Path, config: Path, server: ProviderServer
) -> None:
    server.fail(500, times=2)
    seen: list[events.Event] = []
    result = execute(_options(project, config), seen.append)
    assert result.success, result.error
    assert result.output == DEFAULT_REPLY
    assert _posts(server) == 3
    statuses = [e.text for e in seen if isinstance(e, events.Status)]
    assert sum("retry" in s for s in statuses) == 2
    assert "".join(e.piece for e in seen if isinstance(e, events.Text)) == DEFAULT_REPLY


@pytest.mark.usefixtures("env")
def test_server_errors_give_up_after_max_retries(
    project: Path, config: Path, server: ProviderServer
) -> None:
    server.fail(500, times=5)
    result = execute(_options(project, config))
    assert not result.success
    assert (result.error_kind, result.exit_code) == ("server_error", 13)
    assert _posts(server) == 3


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("status", "kind", "code"), [(400, "bad_request", 12), (403, "authentication", 10)]
)
def test_client_errors_are_never_retried(
    project: Path, config: Path, server: ProviderServer, status: int, kind: str, code: int
) -> None:
    server.fail(status, times=3)
    result = execute(_options(project, config))
    assert (result.success, result.error_kind, result.exit_code) == (False, kind, code)
    assert _posts(server) == 1


@pytest.mark.usefixtures("env")
def test_connection_refused_is_unreachable(project: Path, tmp_path: Path) -> None:
    port = free_port()
    config = write_config(
        project,
        {
            "providers": [provider("oai", "openai", f"http://127.0.0.1:{port}/v1", apiKey="k")],
            "endpoints": [endpoint("gpt", "oai")],
            "defaultEndpoint": "gpt",
        },
    )
    config_text = config.read_text()
    result = execute(_options(project, config), events.ignore)
    assert (result.success, result.error_kind, result.exit_code) == (False, "unreachable", 15)
    assert result.fix
    assert config.read_text() == config_text


@pytest.mark.usefixtures("env")
def test_slow_reply_times_out(project: Path, config: Path, server: ProviderServer) -> None:
    server.slow(5, times=5)
    result = execute(_options(project, config, timeout=0.5))
    assert (result.error_kind, result.exit_code) == ("timeout", 14)


@pytest.mark.usefixtures("env")
def test_cut_stream_is_reported_and_not_retried(
    project: Path, config: Path, server: ProviderServer
) -> None:
    server.cut_stream(times=3)
    pieces: list[str] = []
    result = execute(_options(project, config), _answer_into(pieces))
    assert (result.error_kind, result.exit_code) == ("stream_cut", 16)
    assert pieces  # the part that arrived was shown
    assert _posts(server) == 1


@pytest.mark.usefixtures("env")
def test_malformed_reply_is_a_bad_response(
    project: Path, config: Path, server: ProviderServer
) -> None:
    server.malformed(times=5)
    result = execute(_options(project, config, stream=False))
    assert not result.success
    assert result.exit_code == 13


@pytest.mark.usefixtures("env")
def test_anthropic_stream_and_cached_tokens(
    project: Path, config: Path, server: ProviderServer
) -> None:
    server.usage_cached_tokens = 3
    pieces: list[str] = []
    result = execute(_options(project, config, model="claude"), _answer_into(pieces))
    assert result.success, result.error
    assert "".join(pieces) == DEFAULT_REPLY == result.output
    assert result.usage.cached_tokens == 3
    call = server.requests[-1]
    assert call.path == "/v1/messages"
    assert call.headers["x-api-key"] == SECRET


@pytest.mark.usefixtures("env")
def test_key_is_never_put_into_the_environment(
    project: Path, config: Path, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dict(os.environ)
    result = execute(_options(project, config))
    assert result.success
    added = {k: v for k, v in os.environ.items() if before.get(k) != v}
    assert SECRET not in added.values()
    assert "OPENAI_API_KEY" not in added


def _stall_config(project: Path, server: ProviderServer) -> Path:
    return write_config(
        project,
        {
            "providers": [
                provider("ant", "anthropic", server.url, apiKey="${TEST_OPENAI_KEY}"),
                provider("oll", "ollama", server.url),
            ],
            "endpoints": [
                endpoint("claude", "ant", "claude-x", idleTimeout=0.5),
                endpoint("llama", "oll", "llama3.2", idleTimeout=0.5),
            ],
            "defaultEndpoint": "claude",
        },
    )


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("model", ["claude", "llama"])
def test_idle_deadline_cuts_a_stalled_stream(
    project: Path, server: ProviderServer, model: str
) -> None:
    config = _stall_config(project, server)
    server.stall(600)
    pieces: list[str] = []
    result = execute(_options(project, config, model=model), _answer_into(pieces))
    assert (result.error_kind, result.exit_code) == ("timeout", 14)
    assert "idleTimeout" in (result.error or "") and "--idle-timeout" in (result.fix or "")
    assert pieces == ["Hello "]
    assert _posts(server) == 1


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("model", ["claude", "llama"])
@pytest.mark.parametrize("stream", [True, False])
def test_error_in_a_200_reply_is_classified_alike_streamed_or_not(
    project: Path, server: ProviderServer, model: str, stream: bool
) -> None:
    config = _stall_config(project, server)
    server.error_in_ok("Prompt is too long.", times=3)
    result = execute(_options(project, config, model=model, stream=stream))
    assert (result.success, result.error_kind, result.exit_code) == (False, "bad_request", 12)
    assert "Prompt is too long." in (result.error or "")
    assert result.output == ""
    assert _posts(server) == 1
