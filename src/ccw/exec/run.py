"""``execute``: one call from prompt to result, the library function behind ``ccw cli``.

prompt -> route -> executor -> (context pack) -> run -> result -> history. Every backend sits
behind the ``Executor`` seam (``ccw.exec.executor``); this module knows none of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ccw.config.schema import Config
from ccw.config.store import ConfigStore
from ccw.context.options import PackOptions
from ccw.errors import CcwError, UsageError
from ccw.exec import events, router
from ccw.exec.executor import MODES, Executor, Messages, Mode, Request
from ccw.paths import config_path, project_root_of
from ccw.result import ExecutionResult

if TYPE_CHECKING:
    from ccw.context.api import ContextResult


@dataclass
class RunOptions:
    """Everything ``ccw cli`` accepts, as a library call."""

    prompt: str
    model: str | None = None
    tool: str | None = None
    mode: Mode = "analysis"
    cwd: Path = field(default_factory=Path.cwd)
    # How @patterns are packed; its ``include_dirs`` are also the folders a CLI tool may read.
    packing: PackOptions = field(default_factory=PackOptions)
    stream: bool = True
    timeout: float | None = None
    config: Path | None = None
    call_id: str | None = None
    resume: str | None = None  # "" = the last call
    pack: bool = False  # CLI tools: pack @patterns instead of passing them through
    record: bool = True


@dataclass
class Plan:
    """What a call would send (``--dry-run``): nothing is sent."""

    tool: str
    endpoint_id: str | None
    model: str
    provider: str
    context: ContextResult | None
    prompt_tokens: int
    input_cost: float | None


@dataclass(frozen=True)
class _Prepared:
    store: ConfigStore
    config: Config
    route: router.Route
    root: Path


def _prepare(options: RunOptions) -> _Prepared:
    """Check the options, load the config, route the call and find the project root."""
    _check(options)
    store = ConfigStore(config_path(options.config, options.cwd))
    config = store.load()
    route = router.decide(config, options.tool, options.model)
    return _Prepared(store, config, route, project_root_of(store.path))


def _check(options: RunOptions) -> None:
    if options.mode not in MODES:
        raise UsageError(f"unknown --mode {options.mode}", f"use one of: {', '.join(MODES)}")
    if not options.prompt.strip():
        raise UsageError("the prompt is empty", 'pass -p "...", -f FILE, or - for stdin')
    if not options.cwd.is_dir():
        raise UsageError(f"--cd {options.cwd} is not a directory")


def _executor(prepared: _Prepared, options: RunOptions) -> Executor:
    return router.executor_for(
        prepared.route, prepared.config, prepared.store.path, pack=options.pack
    )


def _context(
    options: RunOptions,
    prepared: _Prepared,
    executor: Executor,
    store_pack: bool,
    on_event: events.OnEvent,
) -> ContextResult | None:
    """Pack the prompt's @patterns with the executor's cache strategy (None: no patterns, or
    an executor that takes them as typed). Its warnings go out as ``Warning`` events."""
    if not executor.packs or "@" not in options.prompt:  # the common case imports no packer
        return None
    from ccw.context.api import build_context, context_request, has_patterns

    if not has_patterns(options.prompt):
        return None
    packing = options.packing if store_pack else replace(options.packing, use_cache=False)
    request = context_request(
        options.prompt,
        options.cwd,
        prepared.config,
        prepared.root,
        executor.endpoint,
        packing,
        on_progress=lambda done, total: on_event(events.Progress(done, total)),
    )
    result = build_context(request)
    for warning in result.warnings:
        on_event(events.Warning(warning))
    return result


def _request(
    options: RunOptions, context: ContextResult | None, prior: Messages | None = None
) -> Request:
    return Request(
        prompt=options.prompt,
        context=context,
        prior=prior or [],
        mode=options.mode,
        cwd=options.cwd,
        include_dirs=options.packing.include_dirs,
        stream=options.stream,
        timeout=options.timeout,
    )


def plan(
    options: RunOptions,
    on_event: events.OnEvent | None = None,
    *,
    executor: Executor | None = None,
) -> Plan:
    """Resolve the route and pack the context without sending anything (``--dry-run``).

    ``executor`` replaces the one the route names (tests, or a caller that routes itself).
    """
    prepared = _prepare(options)
    runner = executor or _executor(prepared, options)
    ctx = _context(options, prepared, runner, False, on_event or events.ignore)
    estimate = runner.estimate(_request(options, ctx))
    return Plan(
        tool=runner.name,
        endpoint_id=runner.endpoint_id,
        model=runner.model,
        provider=runner.provider,
        context=ctx,
        prompt_tokens=estimate.prompt_tokens,
        input_cost=estimate.input_cost,
    )


def execute(
    options: RunOptions,
    on_event: events.OnEvent | None = None,
    *,
    executor: Executor | None = None,
) -> ExecutionResult:
    """Run one call and record it in the history.

    Bad arguments raise ``UsageError``; everything after that (a missing key, a provider
    fault) comes back as a result with ``success=False``, ``error``, ``fix`` and ``exit_code``.
    The answer and the status lines go to ``on_event`` (``ccw.exec.events``) as they come.
    ``executor`` replaces the one the route names (tests, or a caller that routes itself).
    """
    notify = on_event or events.ignore
    prepared = _prepare(options)
    route = prepared.route
    started = time.monotonic()
    messages: Messages | None = None
    result: ExecutionResult
    try:
        runner = executor or _executor(prepared, options)
        prior: Messages = []
        if options.resume is not None:
            if not runner.conversational:
                raise UsageError("--resume continues LiteLLM calls only", "drop --tool")
            prior = _resume(options.resume, notify)
        ctx = _context(options, prepared, runner, True, notify)
        request = _request(options, ctx, prior)
        messages = runner.messages(request)
        result = runner.run(request, notify)
        if ctx is not None:
            result.cache_used = ctx.cache_used
            result.cached_files = [f.path for f in ctx.files]
    except CcwError as exc:
        result = route.failed(exc)
    result.mode = options.mode
    result.duration_ms = int((time.monotonic() - started) * 1000)
    if options.record:
        _record(result, options, messages, notify)
    return result


def _resume(call_id: str, on_event: events.OnEvent) -> Messages:
    from ccw.history import open_history

    history = open_history()
    _, turns = history.conversation(call_id or None)
    for warning in history.warnings:
        on_event(events.Warning(warning))
    return turns


def _record(
    result: ExecutionResult,
    options: RunOptions,
    messages: Messages | None,
    on_event: events.OnEvent,
) -> None:
    """Record the call; what the history had to say (a database moved aside, a call it could
    not record) goes out as warnings."""
    from ccw.history import open_history

    history = open_history()
    result.id = history.record(
        result,
        prompt=options.prompt,
        messages=messages,
        cwd=str(options.cwd),
        call_id=options.call_id,
    )
    for warning in history.warnings:
        on_event(events.Warning(warning))
