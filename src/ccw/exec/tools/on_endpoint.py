"""A CLI tool answering from a configured endpoint: ``ccw cli --tool claude --model EP``.

The tool runs against a gateway of its own (``ccw.server.gateway.local``): 127.0.0.1, a free
port, a one-off token, for the length of the run. Its calls go through the gateway into the
endpoint like any API client's, and land in ccw's history. claude takes the gateway as its
Anthropic base URL; codex as an OpenAI-compatible model provider, configured in a
``CODEX_HOME`` of the run's own (the user's codex config is never read or changed).
The run's id is chosen before it starts, so that each of the tool's calls is recorded under
it (``parent_id``) and in its conversation; the result carries that id for the history.
gemini and qwen take no base URL ccw can set: refused with the reason.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ccw.errors import UsageError
from ccw.exec import events
from ccw.exec.executor import Executor, Request
from ccw.exec.tools.executor import ToolRequest, default_tool_timeout, run_tool
from ccw.result import ExecutionResult

ON_ENDPOINT: tuple[str, ...] = ("claude", "codex")
CODEX_TOKEN_ENV = "CCW_GATEWAY_TOKEN"
# Why each other tool cannot be pointed at the gateway.
LIMITATION: dict[str, str] = {
    "gemini": "the gemini CLI takes no API base URL that ccw can point at its gateway",
    "qwen": "the qwen CLI takes no API base URL that ccw can point at its gateway",
}


def reserved_call_id(now: datetime | None = None) -> str:
    """An id for a call not yet recorded, in the history's own form (sortable by time)."""
    utc = (now or datetime.now(UTC)).astimezone(UTC)
    return f"call-{utc:%y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def check_on_endpoint(tool: str, endpoint_id: str) -> None:
    """A tool that cannot be pointed at an endpoint is a usage error saying why."""
    if tool not in ON_ENDPOINT:
        raise UsageError(
            f"--tool {tool} cannot answer from endpoint {endpoint_id}: {LIMITATION[tool]}",
            f"use --tool claude or --tool codex with --model {endpoint_id}, or call the "
            f"endpoint itself: ccw cli --model {endpoint_id}",
        )


def claude_environment(url: str, token: str, endpoint_id: str) -> dict[str, str]:
    """Claude Code on the gateway: every model it would pick is the endpoint."""
    return {
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_AUTH_TOKEN": token,
        "ANTHROPIC_API_KEY": "",
        "ANTHROPIC_MODEL": endpoint_id,
        "ANTHROPIC_SMALL_FAST_MODEL": endpoint_id,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": endpoint_id,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": endpoint_id,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": endpoint_id,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
    }


def codex_config(url: str, endpoint_id: str) -> str:
    """A codex ``config.toml`` whose one model provider is the gateway (Responses API)."""
    return (
        f"model = {json.dumps(endpoint_id)}\n"
        'model_provider = "ccw"\n\n'
        "[model_providers.ccw]\n"
        'name = "ccw gateway"\n'
        f"base_url = {json.dumps(url + '/v1')}\n"
        f'env_key = "{CODEX_TOKEN_ENV}"\n'
        'wire_api = "responses"\n'
    )


class EndpointToolExecutor(Executor):
    """Runs a CLI tool with its model calls answered by one endpoint (or pool)."""

    def __init__(self, tool: str, endpoint_id: str, config_path: Path, *, packs: bool) -> None:
        check_on_endpoint(tool, endpoint_id)
        self.name = tool
        self.provider = tool
        self.model = endpoint_id
        self.endpoint_id = endpoint_id
        self.packs = packs
        self._config_path = config_path
        self._endpoint = endpoint_id

    def run(self, request: Request, on_event: events.OnEvent) -> ExecutionResult:
        from ccw.server.gateway.local import local_gateway

        ctx = request.context
        run_id = reserved_call_id()
        with (
            local_gateway(self._config_path, parent_id=run_id) as gateway,
            self._settings(gateway.url, gateway.token) as env,
        ):
            result = run_tool(
                ToolRequest(
                    tool=self.name,
                    prompt=ctx.final_prompt() if ctx else request.prompt,
                    model=self._endpoint,
                    mode=request.mode,
                    cwd=request.cwd,
                    include_dirs=request.include_dirs,
                    timeout=request.timeout or default_tool_timeout(),
                    env=env,
                ),
                on_output=lambda piece: on_event(events.Text(piece)),
            )
        result.endpoint_id = self.endpoint_id
        result.id = run_id  # the id its tool's calls name as their parent
        return result

    @contextlib.contextmanager
    def _settings(self, url: str, token: str) -> Iterator[dict[str, str]]:
        """The tool's environment for the run: claude's variables, or codex's own
        ``CODEX_HOME`` in a temporary folder (the user's codex config is never read)."""
        if self.name == "claude":
            yield claude_environment(url, token, self._endpoint)
            return
        from ccw.paths import data_dir

        # Not under /tmp: codex refuses to set up its helper commands in a temporary folder.
        parent = data_dir() / "tool-homes"
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="codex-", dir=parent) as home:
            (Path(home) / "config.toml").write_text(codex_config(url, self._endpoint))
            yield {"CODEX_HOME": home, CODEX_TOKEN_ENV: token}
