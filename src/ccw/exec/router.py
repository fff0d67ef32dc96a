"""The route decision: which executor runs a call, from ``--tool`` and ``--model``.

- ``--model`` names a configured endpoint (and ``--tool`` is absent or ``litellm``): LiteLLM.
- ``--tool litellm`` (or no ``--tool``) without ``--model``: LiteLLM on the default endpoint.
- ``--tool gemini|qwen|codex|claude``: that CLI tool; ``--model`` is passed to its own model flag.
- An endpoint id with a CLI tool is an error that says which of the two was meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ccw.config.effective import effective_config
from ccw.config.schema import Config
from ccw.errors import CcwError, UsageError
from ccw.exec.executor import Executor
from ccw.result import ExecutionResult

LITELLM = "litellm"
CLI_TOOLS: tuple[str, ...] = ("gemini", "qwen", "codex", "claude")


@dataclass(frozen=True)
class Route:
    """What a call asked for, before anything is resolved (a failed call records this)."""

    tool: str  # "litellm" or a CLI tool name
    endpoint_id: str | None = None  # LiteLLM: the endpoint (None = default)
    tool_model: str | None = None  # CLI tool: its own model name

    @property
    def is_tool(self) -> bool:
        return self.tool != LITELLM

    def failed(self, exc: CcwError) -> ExecutionResult:
        """The result of a call that failed before its executor answered, named as asked."""
        return ExecutionResult(
            success=False,
            error=exc.message,
            fix=exc.fix,
            error_kind=exc.kind,
            exit_code=exc.exit_code,
            tool=self.tool,
            endpoint_id=self.endpoint_id,
            model=self.tool_model or ("default" if self.is_tool else ""),
            provider=self.tool if self.is_tool else "",
        )


def decide(config: Config, tool: str | None, model: str | None) -> Route:
    """Route a call; raises ``UsageError`` for an unknown tool or a contradictory pair."""
    name = (tool or LITELLM).strip().lower()
    if name == LITELLM:
        return Route(LITELLM, endpoint_id=model)
    if name not in CLI_TOOLS:
        raise UsageError(
            f"unknown --tool {tool}",
            f"use one of: {LITELLM}, {', '.join(CLI_TOOLS)} (or pass an endpoint id as --model)",
        )
    if model and effective_config(config).endpoint(model) is not None:
        raise UsageError(
            f"--model {model} is a configured endpoint, but --tool {name} runs the {name} CLI",
            f"for the endpoint: ccw cli --tool litellm --model {model}; "
            f"for {name}: pass its own model name, e.g. --tool {name} --model <{name} model>",
        )
    return Route(name, tool_model=model)


def executor_for(route: Route, config: Config, config_path: Path, *, pack: bool) -> Executor:
    """The executor of a route. A LiteLLM route resolves its endpoint, provider and key here,
    so this raises what ``resolve_target`` raises (unknown, disabled, no key).

    ``pack``: whether a CLI tool gets the prompt's @patterns packed (LiteLLM always does).
    """
    if route.is_tool:
        from ccw.exec.tools import ToolExecutor

        return ToolExecutor(route.tool, route.tool_model, packs=pack)
    from ccw.exec.litellm_executor import LiteLLMExecutor
    from ccw.exec.target import resolve_target

    return LiteLLMExecutor(
        resolve_target(config, route.endpoint_id), config_path=config_path, local=config.local
    )
