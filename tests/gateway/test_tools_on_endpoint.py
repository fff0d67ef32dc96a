"""``ccw cli --tool claude --model ENDPOINT``: the real Claude Code from npm, its model calls
answered by the endpoint through a gateway the run starts itself; tools that take no base URL
are refused with the reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ccw.history import open_history
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.gateway.conftest import KEY, write_config

NPM_BIN = Path(__file__).resolve().parents[2] / "requirements" / "npm" / "node_modules" / ".bin"


@pytest.fixture
def tool_env(provider: ProviderServer, project: Path) -> dict[str, str]:
    write_config(project, provider.url + "/v1")
    return {
        "TEST_GW_KEY": KEY,
        "PATH": f"{NPM_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "CCW_TOOL_TIMEOUT": "120",
    }


@pytest.mark.parametrize(("tool", "client"), [("claude", "claude-cli"), ("codex", "codex_exec")])
def test_a_tool_answers_from_the_endpoint_through_the_gateway(
    run_ccw: RunCcw, provider: ProviderServer, tool_env: dict[str, str], tool: str, client: str
) -> None:
    if not (NPM_BIN / tool).exists():
        pytest.skip(f"make setup-dev installs {tool}")
    provider.reply = "Answer from the endpoint behind the gateway."
    done = run_ccw(
        "cli",
        "--tool",
        tool,
        "--model",
        "gpt",
        "-p",
        "what is 6 times 7",
        "--json",
        env=tool_env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["tool"] == tool and result["endpointId"] == "gpt"
    assert "Answer from the endpoint behind the gateway." in result["output"]
    calls = [r for r in provider.requests if r.path.endswith("/chat/completions")]
    assert calls, "the tool's call never reached the provider"
    assert "what is 6 times 7" in json.dumps(calls[-1].body)
    assert calls[-1].headers["authorization"] == f"Bearer {KEY}"
    assert calls[-1].body["model"] == "gpt-4o"  # the endpoint's model, not the tool's
    with open_history() as history:
        tools = [row["tool"] for row in history.list(limit=20)]
    assert tool in tools  # the run itself
    assert any(name.startswith(client) for name in tools), tools  # its calls, via the gateway


@pytest.mark.parametrize("tool", ["gemini", "qwen"])
def test_a_tool_without_a_base_url_is_refused_with_the_reason(
    run_ccw: RunCcw, provider: ProviderServer, tool_env: dict[str, str], tool: str
) -> None:
    done = run_ccw("cli", "--tool", tool, "--model", "gpt", "-p", "hi", env=tool_env)
    assert done.returncode == 2
    assert f"--tool {tool} cannot answer from endpoint gpt" in done.stderr
    assert "ccw cli --model gpt" in done.stderr
    assert "Traceback" not in done.stderr
    assert provider.requests == []


def test_a_tools_own_model_name_still_goes_to_the_tool(tool_env: dict[str, str]) -> None:
    from ccw.config.schema import Config
    from ccw.exec import router

    config = Config.model_validate({"providers": [], "endpoints": [], "version": 1})
    route = router.decide(config, "claude", "opus")
    assert (route.tool, route.endpoint_id, route.tool_model) == ("claude", None, "opus")
