"""The route decision: which executor runs a call, from ``--tool`` and ``--model``.

- ``--model`` names a configured endpoint (and ``--tool`` is absent or ``litellm``): LiteLLM.
- ``--tool litellm`` (or no ``--tool``) without ``--model``: LiteLLM on the default endpoint.
- ``--tool gemini|qwen|codex|claude``: that CLI tool; ``--model`` is passed to its own model flag.
- ``--tool claude|codex --model ENDPOINT`` (an endpoint or pool id): the tool, its model calls
  answered by that endpoint through a gateway of the run's own (``ccw.exec.tools.on_endpoint``);
  gemini and qwen take no base URL, so that is an error naming the limitation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ccw.config.effective import effective_config
from ccw.config.providers import kind
from ccw.config.schema import Config
from ccw.errors import CcwError, UsageError
from ccw.exec.executor import Executor
from ccw.result import ExecutionResult

if TYPE_CHECKING:
    from ccw.exec.target import CallTarget

LITELLM = "litellm"
# Told about a key that cannot be resolved when planning without it (``--dry-run``).
MissingKey = Callable[[CcwError], None]
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
    if model and _is_model_id(config, model):
        from ccw.exec.tools.on_endpoint import check_on_endpoint

        check_on_endpoint(name, model)
        return Route(name, endpoint_id=model, tool_model=model)
    return Route(name, tool_model=model)


def _is_model_id(config: Config, model: str) -> bool:
    """Whether ``model`` names a configured endpoint or model pool (not a tool's own model)."""
    effective = effective_config(config)
    return effective.endpoint(model) is not None or effective.pool(model) is not None


def executor_for(
    route: Route,
    config: Config,
    config_path: Path,
    *,
    pack: bool,
    on_missing_key: MissingKey | None = None,
) -> Executor:
    """The executor of a route. A LiteLLM route resolves its endpoint, provider and key here,
    so this raises what ``resolve_target`` raises (unknown, disabled, no key).

    ``pack``: whether a CLI tool gets the prompt's @patterns packed (LiteLLM always does).
    ``on_missing_key``: plan without the key instead (``--dry-run``): a key (or another
    ``${VAR}``) that cannot be resolved goes to it, and the executor is for estimates only.
    """
    if route.is_tool and route.endpoint_id is not None:
        from ccw.exec.tools.on_endpoint import EndpointToolExecutor

        return EndpointToolExecutor(route.tool, route.endpoint_id, config_path, packs=pack)
    if route.is_tool:
        from ccw.exec.tools import ToolExecutor

        return ToolExecutor(
            route.tool, route.tool_model, packs=pack, default_timeout=config.tool_timeout_seconds
        )
    from ccw.config.secrets import MissingKeyError
    from ccw.exec.litellm_executor import LiteLLMExecutor
    from ccw.exec.target import resolve_target

    try:
        target = resolve_target(config, route.endpoint_id)
    except MissingKeyError as exc:
        if on_missing_key is None:
            raise
        on_missing_key(exc)
        target = _keyless_target(config, route.endpoint_id)
    from ccw.config.provenance import provenance_of

    provenance = provenance_of(config)
    key_file = provenance.file_of("provider", target.provider.id) if provenance else None
    return LiteLLMExecutor(target, config_path=config_path, local=config.local, key_file=key_file)


def _keyless_target(config: Config, endpoint_id: str | None) -> CallTarget:
    """The endpoint and provider of a call, nothing resolved: enough to count and price it."""
    from ccw.config.effective import find_provider
    from ccw.exec.target import NO_KEY, CallTarget, choose_endpoint

    endpoint = choose_endpoint(effective_config(config), endpoint_id)
    provider = find_provider(config, endpoint.provider_id)
    return CallTarget(
        endpoint=endpoint,
        provider=provider,
        model=kind(provider.type).litellm_model(endpoint.model),
        api_key=NO_KEY,
    )


@dataclass(frozen=True)
class EndpointFacts:
    """What a LiteLLM route's endpoint is, read from the config alone (no key, no litellm)."""

    endpoint_id: str
    litellm_model: str
    embedded: bool  # the local model ccw runs itself: free
    context_window: int | None  # input tokens the model takes; None: unknown


def endpoint_facts(route: Route, config: Config) -> EndpointFacts | None:
    """The facts of the endpoint a LiteLLM route names (None for a CLI tool, or an endpoint
    the config does not hold: the call itself reports that)."""
    if route.is_tool:
        return None
    from ccw.config.effective import find_provider
    from ccw.exec import pricing
    from ccw.exec.target import choose_endpoint

    try:
        endpoint = choose_endpoint(effective_config(config), route.endpoint_id)
        provider = find_provider(config, endpoint.provider_id)
    except CcwError:
        return None
    spec = kind(provider.type)
    model = spec.litellm_model(endpoint.model)
    window = config.local.context_size if spec.embedded else pricing.context_window(model)
    return EndpointFacts(endpoint.id, model, spec.embedded, window)
