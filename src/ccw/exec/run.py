"""``execute``: one call from prompt to result, the library function behind ``ccw cli``.

prompt -> route -> (context pack) -> messages -> LiteLLM or a CLI tool -> result -> history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccw.config.schema import Config
from ccw.config.store import ConfigStore
from ccw.errors import CcwError, UsageError
from ccw.exec import router
from ccw.paths import config_path, data_dir, project_root_of
from ccw.result import ExecutionResult

if TYPE_CHECKING:
    from ccw.context.api import ContextResult
    from ccw.exec.target import CallTarget

MODES = ("analysis", "write", "auto")
PACK_SEPARATOR = "\n\n---\n\n"

Sink = Callable[[str], None]


@dataclass
class RunOptions:
    """Everything ``ccw cli`` accepts, as a library call."""

    prompt: str
    model: str | None = None
    tool: str | None = None
    mode: str = "analysis"
    cwd: Path = field(default_factory=Path.cwd)
    include_dirs: list[Path] = field(default_factory=list)
    use_cache: bool = True
    stream: bool = True
    timeout: float | None = None
    config: Path | None = None
    call_id: str | None = None
    resume: str | None = None  # "" = the last call
    pack: bool = False  # CLI tools: pack @patterns instead of passing them through
    fmt: str = "xml"
    on_overflow: str = "skip"
    allow_secrets: bool = False
    tokens: str = "estimate"
    record: bool = True


@dataclass
class Plan:
    """What a call would send (``--dry-run``): nothing is sent."""

    route: router.Route
    endpoint_id: str | None
    model: str
    provider: str
    context: ContextResult | None
    prompt_tokens: int
    input_cost: float | None


def _store(options: RunOptions) -> ConfigStore:
    return ConfigStore(config_path(options.config, options.cwd))


def _prepare(options: RunOptions) -> tuple[ConfigStore, Config, router.Route, Path]:
    """Check the options, load the config, route the call and find the project root."""
    _check(options)
    store = _store(options)
    config = store.load()
    route = router.decide(config, options.tool, options.model)
    return store, config, route, project_root_of(store.path)


def _check(options: RunOptions) -> None:
    if options.mode not in MODES:
        raise UsageError(f"unknown --mode {options.mode}", f"use one of: {', '.join(MODES)}")
    if not options.prompt.strip():
        raise UsageError("the prompt is empty", 'pass -p "...", -f FILE, or - for stdin')
    if not options.cwd.is_dir():
        raise UsageError(f"--cd {options.cwd} is not a directory")


def _context(
    options: RunOptions,
    config: Config,
    root: Path,
    target: CallTarget | None,
    store_pack: bool,
    on_status: Sink | None,
) -> ContextResult | None:
    """Pack the prompt's @patterns with the endpoint's cache strategy (None: no patterns)."""
    if "@" not in options.prompt:  # the common case costs no import of the packer
        return None
    from ccw.context.api import build_context, context_request, has_patterns

    if not has_patterns(options.prompt):
        return None
    overrides: dict[str, Any] = {
        "include_dirs": list(options.include_dirs),
        "fmt": options.fmt,
        "on_overflow": options.on_overflow,
        "allow_secrets": options.allow_secrets,
        "tokens": options.tokens,
    }
    if not (store_pack and options.use_cache):
        overrides["use_cache"] = False
    endpoint = target.endpoint if target else None
    request = context_request(options.prompt, options.cwd, config, root, endpoint, **overrides)
    result = build_context(request)
    if on_status:
        for warning in result.warnings:
            on_status("warning: " + warning)
    return result


def _messages(
    target: CallTarget, prior: list[dict[str, Any]], ctx: ContextResult | None, prompt: str
) -> list[dict[str, Any]]:
    """The user turn is pack + separator + prompt. Anthropic gets a cache breakpoint on the pack
    so that a repeated pack is billed as a cache read."""
    if ctx is None or not ctx.pack:
        content: Any = ctx.prompt if ctx else prompt
    elif target.provider_type == "anthropic":
        content = [
            {
                "type": "text",
                "text": ctx.pack + PACK_SEPARATOR,
                "cache_control": {"type": "ephemeral"},
            },
            {"type": "text", "text": ctx.prompt},
        ]
    else:
        content = ctx.final_prompt()
    return [*prior, {"role": "user", "content": content}]


def plan(options: RunOptions, on_status: Sink | None = None) -> Plan:
    """Resolve the route and pack the context without sending anything (``--dry-run``)."""
    from ccw.exec import pricing
    from ccw.exec.target import resolve_target

    _, config, route, root = _prepare(options)
    if route.is_tool:
        ctx = _context(options, config, root, None, False, on_status) if options.pack else None
        tokens = ctx.total_tokens if ctx else len(options.prompt) // 4
        return Plan(route, None, route.tool_model or "default", route.executor, ctx, tokens, None)
    target = resolve_target(config, route.endpoint_id)
    ctx = _context(options, config, root, target, False, on_status)
    tokens = (ctx.total_tokens if ctx else 0) + max(1, len(options.prompt) // 4)
    cost = pricing.input_cost(target.provider_type, target.model, tokens)
    return Plan(route, target.endpoint.id, target.model, target.provider.id, ctx, tokens, cost)


def execute(
    options: RunOptions, on_text: Sink | None = None, on_status: Sink | None = None
) -> ExecutionResult:
    """Run one call and record it in the history.

    Bad arguments raise ``UsageError``; everything after that (a missing key, a provider
    fault) comes back as a result with ``success=False``, ``error``, ``fix`` and ``exit_code``.
    """
    store, config, route, root = _prepare(options)
    started = time.monotonic()
    prior: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] | None = None
    result: ExecutionResult
    try:
        if options.resume is not None:
            if route.is_tool:
                raise UsageError("--resume continues LiteLLM calls only", "drop --tool")
            prior = _resume(options.resume)
        if route.is_tool:
            result = _run_tool(options, config, root, route, on_text, on_status)
        else:
            result, messages = _run_litellm(
                options, store, config, root, route, prior, on_text, on_status
            )
    except CcwError as exc:
        result = ExecutionResult(
            success=False,
            error=exc.message,
            fix=exc.fix,
            error_kind=_error_kind(exc),
            exit_code=exc.exit_code,
            tool=route.executor,
            endpoint_id=route.endpoint_id,
            model=route.tool_model or ("default" if route.is_tool else ""),
            provider=route.executor if route.is_tool else "",
        )
    result.mode = options.mode
    result.duration_ms = int((time.monotonic() - started) * 1000)
    if options.record:
        _record(result, options, messages)
    return result


def _error_kind(exc: CcwError) -> str:
    """``authentication``, ``tool_missing``, ``not_found``…: a stable snake_case name."""
    import re

    kind = getattr(getattr(exc, "kind", None), "name", None) or getattr(exc, "error_kind", None)
    if isinstance(kind, str):
        return kind
    name = type(exc).__name__.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _resume(call_id: str) -> list[dict[str, Any]]:
    from ccw.history import open_history

    _, turns = open_history().conversation(call_id or None)
    return turns


def _record(
    result: ExecutionResult, options: RunOptions, messages: list[dict[str, Any]] | None
) -> None:
    from ccw.history import open_history

    result.id = open_history().record(
        result,
        prompt=options.prompt,
        messages=messages,
        cwd=str(options.cwd),
        call_id=options.call_id,
    )


def _run_litellm(
    options: RunOptions,
    store: ConfigStore,
    config: Config,
    root: Path,
    route: router.Route,
    prior: list[dict[str, Any]],
    on_text: Sink | None,
    on_status: Sink | None,
) -> tuple[ExecutionResult, list[dict[str, Any]]]:
    from ccw.exec import pricing
    from ccw.exec.faults import ProviderFault
    from ccw.exec.litellm_call import complete
    from ccw.exec.target import resolve_target, warn_literal_key_once

    target = resolve_target(config, route.endpoint_id)
    if on_status and warn_literal_key_once(target, store.path, data_dir()):
        on_status(
            f"warning: provider {target.provider.id} keeps its key literally in {store.path}; "
            "prefer an environment reference such as ${OPENAI_API_KEY}"
        )
    if target.provider_type == "local":
        from ccw.local.process import ensure_running

        base, started_now = ensure_running(config.local)
        target.api_base = base
        if started_now and on_status:
            on_status(f"started the local model on {base} (ccw local stop ends it)")
    ctx = _context(options, config, root, target, True, on_status)
    messages = _messages(target, prior, ctx, options.prompt)
    result = ExecutionResult(
        success=False,
        model=target.endpoint.model,
        provider=target.provider.id,
        endpoint_id=target.endpoint.id,
        cache_used=bool(ctx and ctx.cache_used),
        cached_files=[f.path for f in ctx.files] if ctx else [],
        warnings=list(ctx.warnings) if ctx else [],
    )
    try:
        outcome = complete(
            target,
            messages,
            stream=options.stream,
            timeout=options.timeout,
            on_text=on_text,
            on_status=on_status,
        )
    except ProviderFault as fault:
        result.error, result.fix = fault.message, fault.fix
        result.error_kind, result.exit_code = fault.kind.name, fault.exit_code
        _scrub(result, target)
        return result, messages
    result.success = True
    result.output = outcome.text
    result.usage = outcome.usage
    result.cost = pricing.cost(target.provider_type, target.model, outcome.usage)
    return result, messages


def _scrub(result: ExecutionResult, target: CallTarget) -> None:
    """Mask the target's credentials in every error text before it is shown or recorded."""
    from ccw.exec.redact import scrub, secrets_of

    secrets = secrets_of(target)
    result.error = scrub(result.error, secrets)
    result.fix = scrub(result.fix, secrets)
    result.warnings = [scrub(w, secrets) or "" for w in result.warnings]


def _run_tool(
    options: RunOptions,
    config: Config,
    root: Path,
    route: router.Route,
    on_text: Sink | None,
    on_status: Sink | None,
) -> ExecutionResult:
    from ccw.exec.tools import ToolRequest, run_tool

    prompt = options.prompt
    ctx = _context(options, config, root, None, True, on_status) if options.pack else None
    if ctx is not None:
        prompt = ctx.final_prompt()
    result = run_tool(
        ToolRequest(
            tool=route.executor,
            prompt=prompt,
            model=route.tool_model,
            mode=options.mode,
            cwd=options.cwd,
            include_dirs=list(options.include_dirs),
            timeout=options.timeout,
        ),
        on_output=on_text,
    )
    if ctx is not None:
        result.cache_used = ctx.cache_used
        result.cached_files = [f.path for f in ctx.files]
    return result
