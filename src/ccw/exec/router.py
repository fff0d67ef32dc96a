"""The route decision: which executor runs a call, from ``--tool`` and ``--model``.

- ``--model`` names a configured endpoint (and ``--tool`` is absent or ``litellm``): LiteLLM.
- ``--tool litellm`` (or no ``--tool``) without ``--model``: LiteLLM on the default endpoint.
- ``--tool gemini|qwen|codex|claude``: that CLI tool; ``--model`` is passed to its own model flag.
- An endpoint id with a CLI tool is an error that says which of the two was meant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccw.config import manage
from ccw.config.schema import Config
from ccw.errors import UsageError

LITELLM = "litellm"
CLI_TOOLS: tuple[str, ...] = ("gemini", "qwen", "codex", "claude")


@dataclass(frozen=True)
class Route:
    executor: str  # "litellm" or a CLI tool name
    endpoint_id: str | None = None  # LiteLLM: the endpoint (None = default)
    tool_model: str | None = None  # CLI tool: its own model name

    @property
    def is_tool(self) -> bool:
        return self.executor != LITELLM


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
    if model and manage.with_builtins(config).endpoint(model) is not None:
        raise UsageError(
            f"--model {model} is a configured endpoint, but --tool {name} runs the {name} CLI",
            f"for the endpoint: ccw cli --tool litellm --model {model}; "
            f"for {name}: pass its own model name, e.g. --tool {name} --model <{name} model>",
        )
    return Route(name, tool_model=model)
