"""``ccw cli`` end to end: the real CLI against loopback providers of three wire formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import SECRET
from tests.conftest import RunCcw
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer


def test_streams_answer_to_stdout_and_status_to_stderr(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    done = run_ccw("cli", "-p", "Say hello", env=keys)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == DEFAULT_REPLY
    assert "gpt" in done.stderr  # the summary line names the endpoint
    call = server.requests[-1]
    assert call.path == "/v1/chat/completions"
    assert call.headers["authorization"] == f"Bearer {SECRET}"
    assert call.body["stream"] is True
    assert call.body["max_tokens"] == 64
    assert call.body["messages"] == [{"role": "user", "content": "Say hello"}]


@pytest.mark.parametrize(
    ("endpoint_id", "path"),
    [("claude", "/v1/messages"), ("llama", "/api/chat"), ("mine", "/v1/chat/completions")],
)
def test_json_result_shape_for_each_wire_format(
    run_ccw: RunCcw,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
    endpoint_id: str,
    path: str,
) -> None:
    done = run_ccw("cli", "-p", "Hi there", "--model", endpoint_id, "--json", env=keys)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"success", "output", "model", "provider", "cacheUsed", "cachedFiles", "error"} <= set(
        result
    )
    assert result["success"] is True
    assert result["output"] == DEFAULT_REPLY
    assert result["endpointId"] == endpoint_id
    assert result["error"] is None
    assert result["usage"]["promptTokens"] >= 1
    assert result["usage"]["completionTokens"] >= 1
    assert result["durationMs"] >= 0
    assert any(r.path == path for r in server.requests)
    if endpoint_id in ("mine", "llama"):
        assert result["cost"] is None  # unpriced, never 0
    else:
        assert result["cost"] > 0
    if endpoint_id == "mine":
        assert server.requests[-1].headers["x-team"] == "qa"


def test_prompt_from_stdin_and_no_stream(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    done = run_ccw("cli", "-f", "-", "--no-stream", input="from stdin\n", env=keys)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == DEFAULT_REPLY
    body = server.requests[-1].body
    assert body.get("stream") in (None, False)
    assert body["messages"][0]["content"] == "from stdin\n"


def test_auth_failure_is_classified_not_retried_and_hides_the_key(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    server.fail(401, times=3, message=f"Incorrect API key provided: {SECRET}")
    done = run_ccw("cli", "-p", "hello", "--json", env=keys)
    assert done.returncode == 10
    result = json.loads(done.stdout)
    assert result["success"] is False
    assert result["errorKind"] == "authentication"
    assert len([r for r in server.requests if r.method == "POST"]) == 1
    assert SECRET not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_rate_limit_is_retried_after_retry_after(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    server.fail(429, times=1, retry_after=0.2)
    done = run_ccw("cli", "-p", "hello", env=keys)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == DEFAULT_REPLY
    assert "rate limit" in done.stderr and "retry 1/2" in done.stderr
    assert len([r for r in server.requests if r.method == "POST"]) == 2


def test_missing_variable_names_it_and_sends_nothing(
    run_ccw: RunCcw, configured: Path, server: ProviderServer
) -> None:
    done = run_ccw("cli", "-p", "hello")
    assert done.returncode == 10
    assert "TEST_OPENAI_KEY" in done.stderr
    assert "fix:" in done.stderr
    assert server.requests == []


def test_unknown_endpoint_suggests_near_ids(run_ccw: RunCcw, configured: Path) -> None:
    done = run_ccw("cli", "-p", "hello", "--model", "claud")
    assert done.returncode == 4
    assert "endpoint not found: claud" in done.stderr
    assert "claude" in done.stderr
    assert "Traceback" not in done.stderr


def test_disabled_endpoint_is_refused(run_ccw: RunCcw, configured: Path) -> None:
    done = run_ccw("cli", "-p", "hello", "--model", "off")
    assert done.returncode == 3
    assert "disabled" in done.stderr and "ccw endpoint update off --enable" in done.stderr


def test_bad_flags_are_usage_errors(run_ccw: RunCcw, configured: Path) -> None:
    done = run_ccw("cli", "-p", "hello", "--mode", "destroy")
    assert done.returncode == 2
    assert "--mode" in done.stderr
    done = run_ccw("cli", "--no-such-flag")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
