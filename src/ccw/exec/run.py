"""``execute``: one call from prompt to result, the library function behind ``ccw cli``.

prompt -> route -> executor -> (context pack) -> run -> result -> history. Every backend sits
behind the ``Executor`` seam (``ccw.exec.executor``); this module knows none of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccw.config.schema import Config
from ccw.config.store import ConfigStore
from ccw.context.options import PackOptions
from ccw.errors import CcwError, ExitCode, UsageError
from ccw.exec import events, router
from ccw.exec.executor import MODES, Executor, Messages, Mode, Request, as_one_prompt, turns_text
from ccw.paths import project_root_of
from ccw.result import ExecutionResult

if TYPE_CHECKING:
    from ccw.context.api import ContextResult
    from ccw.exec.advice import Advice, Candidate
    from ccw.exec.window import Window
    from ccw.history import Resumed


class CallInterrupted(CcwError):
    """The user stopped the call (Ctrl-C); what had streamed is kept."""

    kind = "interrupted"
    exit_code = ExitCode.INTERRUPTED


@dataclass
class RunOptions:
    """Everything ``ccw cli`` accepts, as a library call."""

    prompt: str  # as the user wrote it: its @patterns are packed
    model: str | None = None
    tool: str | None = None
    # Text piped in: sent ahead of the prompt, marked as input, never scanned for patterns.
    input: str | None = None
    system: str | None = None  # ``-s``: the system prompt (LiteLLM endpoints)
    # ``-o KEY VALUE``, typed (``ccw.exec.model_options.parse_options``).
    model_options: dict[str, Any] = field(default_factory=dict)
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
    # ``--max-cost``: refuse a call whose estimated input costs more (USD).
    max_cost: float | None = None


@dataclass
class Plan:
    """What a call would send (``--dry-run``): nothing is sent."""

    tool: str
    endpoint_id: str | None
    model: str
    provider: str
    context: ContextResult | None
    prompt_tokens: int  # everything sent: earlier turns, pack and prompt
    input_cost: float | None
    # Input tokens the model takes (None: unknown); warnings include going past it.
    context_window: int | None = None
    history_turns: int = 0  # earlier turns a --resume resends ...
    history_tokens: int = 0  # ... and about how many tokens they are
    conversation_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    # Per endpoint the call may reach (itself, its fallbacks, a pool's members): window,
    # minimum cacheable size, first and repeat cost, break-even (``ccw.exec.advice``).
    advice: list[Advice] = field(default_factory=list)


@dataclass(frozen=True)
class _Prepared:
    store: ConfigStore
    config: Config
    route: router.Route
    root: Path
    resumed: Resumed | None
    facts: router.EndpointFacts | None


def _prepare(options: RunOptions, on_event: events.OnEvent) -> _Prepared:
    """Check the options, load the config, find the call a --resume continues, route the
    call and find the project root."""
    _check(options)
    from ccw.config.layers import LayeredConfig

    layered = LayeredConfig.open(options.config, options.cwd)  # user file beneath project's
    config = layered.load()
    resumed, model = _resumed(config, options, on_event)
    route = router.decide(config, options.tool, model)
    facts = router.endpoint_facts(route, config)
    root = project_root_of(layered.path)
    return _Prepared(layered.project, config, route, root, resumed, facts)


def _resumed(
    config: Config, options: RunOptions, on_event: events.OnEvent
) -> tuple[Resumed | None, str | None]:
    """The call a --resume continues (None: none, or a CLI tool, which cannot) and the
    endpoint the call runs on."""
    if options.resume is None or router.decide(config, options.tool, None).is_tool:
        return None, options.model
    resumed = _resume(options, on_event)
    return resumed, _conversation_endpoint(config, resumed, options.model, on_event)


def _conversation_endpoint(
    config: Config, resumed: Resumed, model: str | None, on_event: events.OnEvent
) -> str | None:
    """The endpoint a resumed call runs on: the conversation's, unless --model names another
    (said on stderr), or the conversation's endpoint is gone (the default, with a warning)."""
    from ccw.config.effective import effective_config

    kept = resumed.endpoint_id
    if model is not None:
        if kept is not None and model != kept:
            on_event(
                events.Status(
                    f"conversation {resumed.conversation_id} switches from {kept} to {model}"
                )
            )
        return model
    if kept is not None and effective_config(config).endpoint(kept) is None:
        on_event(
            events.Warning(
                f"endpoint {kept} of conversation {resumed.conversation_id} is no longer "
                "configured; it goes on with the default endpoint"
            )
        )
        return None
    return kept


def _check(options: RunOptions) -> None:
    if options.mode not in MODES:
        raise UsageError(f"unknown --mode {options.mode}", f"use one of: {', '.join(MODES)}")
    if not options.prompt.strip() and not (options.input or "").strip():
        raise UsageError("the prompt is empty", 'pass -p "...", -f FILE, or pipe text in')
    if not options.cwd.is_dir():
        raise UsageError(f"--cd {options.cwd} is not a directory")


def _executor(
    prepared: _Prepared, options: RunOptions, on_missing_key: router.MissingKey | None = None
) -> Executor:
    return router.executor_for(
        prepared.route,
        prepared.config,
        prepared.store.path,
        pack=options.pack,
        on_missing_key=on_missing_key,
    )


def _check_fit(route: router.Route, options: RunOptions) -> None:
    """-s and -o are model parameters: a CLI tool takes its own settings."""
    if route.is_tool and (options.system is not None or options.model_options):
        used = " and ".join(
            flag
            for flag, given in (("-s", options.system is not None), ("-o", options.model_options))
            if given
        )
        raise UsageError(
            f"{used} set LiteLLM model parameters; the {route.tool} CLI takes its own settings",
            f"drop {used}, or call an endpoint: ccw cli --model ENDPOINT",
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
    from ccw.exec.window import sized

    return sized(
        result,
        request,
        _window(options, prepared, executor, result),
        fit=options.packing.fit,
        sending=store_pack,
        model=executor.model,
        on_event=on_event,
    )


def _window(
    options: RunOptions, prepared: _Prepared, executor: Executor, ctx: ContextResult
) -> Window:
    """The window the pack must fit: the endpoint's, less the rest of the input and the
    answer's room; with the windows of its fallbacks."""
    from ccw.exec.window import DEFAULT_ANSWER_TOKENS, Window

    resumed = prepared.resumed
    history = turns_text(resumed.turns) if resumed is not None else ""
    rest = with_input(ctx.prompt, options.input) + (options.system or "") + history
    endpoint = executor.endpoint
    answer = options.model_options.get("max_tokens") or (endpoint and endpoint.max_tokens)
    chain = _chain(prepared, executor)
    return Window(
        chain[0].context_window if chain else None,
        max(1, len(rest) // 4),
        int(answer or DEFAULT_ANSWER_TOKENS),
        [c.context_window for c in chain if c.role == "fallback"],
    )


def _chain(prepared: _Prepared, executor: Executor) -> list[Candidate]:
    """The endpoint the executor runs and its fallbacks, each with its window (the model's
    ``capabilities.contextWindow``, else LiteLLM's data); empty for a CLI tool, a pool or a
    stand-in executor."""
    if not _same_endpoint(prepared, executor) or prepared.facts is None:
        return []
    from ccw.exec.advice import candidates

    return candidates(prepared.config, prepared.facts.endpoint_id)


def with_input(prompt: str, piped: str | None) -> str:
    """The text a model gets for a prompt and piped input: the input, marked as such, then
    the prompt (the input alone when there is no prompt)."""
    if piped is None:
        return prompt
    if not prompt.strip():
        return piped
    body = piped if piped.endswith("\n") else piped + "\n"
    return f'<input source="stdin">\n{body}</input>\n\n{prompt}'


def _request(
    options: RunOptions, context: ContextResult | None, prior: Messages | None = None
) -> Request:
    if context is not None and options.input is not None:
        context = replace(context, prompt=with_input(context.prompt, options.input))
    turns = prior or []
    if options.system is not None:  # a new system prompt replaces the conversation's
        turns = [turn for turn in turns if turn.get("role") != "system"]
    return Request(
        prompt=with_input(options.prompt, options.input),
        context=context,
        prior=turns,
        mode=options.mode,
        cwd=options.cwd,
        include_dirs=options.packing.include_dirs,
        stream=options.stream,
        timeout=options.timeout,
        system=options.system,
        options=dict(options.model_options),
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
    notify = on_event or events.ignore
    prepared = _prepare(options, notify)
    warnings: list[str] = []

    def warn(text: str) -> None:
        warnings.append(text)
        notify(events.Warning(text))

    def keyless(exc: CcwError) -> None:
        warn(f"{exc.message}; the plan needs no key, the call will ({exc.fix or 'set it'})")

    runner = executor or _executor(prepared, options, keyless)
    _check_fit(prepared.route, options)
    ctx = _context(options, prepared, runner, False, notify)
    resumed = prepared.resumed
    request = _request(options, ctx, resumed.turns if resumed is not None else None)
    turns = request.prior
    history = turns_text(turns)
    estimate = runner.estimate(as_one_prompt(request))
    facts = prepared.facts if _same_endpoint(prepared, runner) else None
    chain = _chain(prepared, runner)
    window = chain[0].context_window if chain else None
    if window is not None and estimate.prompt_tokens > window:
        warn(
            f"about {estimate.prompt_tokens:,} input tokens, but {runner.model} takes "
            f"{window:,}: the call would be refused or cut; shrink the pack with --fit, "
            "narrow the @patterns, or pick a model with a larger context (--model)"
        )
    return Plan(
        tool=runner.name,
        endpoint_id=runner.endpoint_id,
        model=runner.model,
        provider=runner.provider,
        context=ctx,
        prompt_tokens=estimate.prompt_tokens,
        input_cost=0.0 if facts is not None and facts.embedded else estimate.input_cost,
        context_window=window,
        history_turns=sum(1 for turn in turns if turn.get("role") != "system"),
        history_tokens=len(history) // 4,
        conversation_id=resumed.conversation_id if resumed is not None else None,
        warnings=warnings,
        advice=_advice(prepared, estimate.prompt_tokens, ctx, len(history) // 4),
    )


def _advice(
    prepared: _Prepared, input_tokens: int, ctx: ContextResult | None, history_tokens: int
) -> list[Advice]:
    """The advice for each endpoint a LiteLLM call may reach (none for a CLI tool)."""
    if prepared.route.is_tool:
        return []
    from ccw.exec.advice import advise, candidates

    prefix = (ctx.total_tokens if ctx is not None else 0) + history_tokens
    chain = candidates(prepared.config, prepared.route.endpoint_id)
    return [advise(candidate, input_tokens, prefix) for candidate in chain]


def _same_endpoint(prepared: _Prepared, runner: Executor) -> bool:
    """Whether the route's endpoint facts describe the executor that runs (not a stand-in)."""
    facts = prepared.facts
    return facts is not None and runner.endpoint_id == facts.endpoint_id


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
    prepared = _prepare(options, notify)
    route = prepared.route
    started = time.monotonic()
    messages: Messages | None = None
    runner: Executor | None = None
    streamed: list[str] = []

    def listen(event: events.Event) -> None:
        if isinstance(event, events.Text):
            streamed.append(event.piece)
        notify(event)

    result: ExecutionResult
    try:
        runner = executor or _executor(prepared, options)
        _check_fit(route, options)
        if options.resume is not None and not runner.conversational:
            raise UsageError("--resume continues LiteLLM calls only", "drop --tool")
        prior = prepared.resumed.turns if prepared.resumed is not None else []
        ctx = _context(options, prepared, runner, True, notify)
        request = _request(options, ctx, prior)
        from ccw.exec import budget

        budget.enforce(
            prepared.config,
            runner,
            request,
            cwd=options.cwd,
            max_cost=options.max_cost,
            tool=route.is_tool,
            on_event=notify,
        )
        messages = runner.messages(request)
        result = runner.run(request, listen)
        if ctx is not None:
            result.cache_used = ctx.cache_used
            result.cached_files = [f.path for f in ctx.files]
        if ctx is not None and ctx.pack:
            from ccw.exec import cache_miss, prompt_cache

            result.pack_key = prompt_cache.pack_key(ctx.pack)
            cache_miss.check(runner, request, result, notify)
        if result.success and result.cost is None and _free(prepared, runner):
            result.cost = result.cost_uncached = 0.0
    except CcwError as exc:
        result = route.failed(exc)
    except KeyboardInterrupt:
        result = _interrupted(route, runner, "".join(streamed))
        _finish(result, options, prepared, messages, started, notify)
        raise
    _finish(result, options, prepared, messages, started, notify)
    return result


def _free(prepared: _Prepared, runner: Executor) -> bool:
    """The embedded local model costs nothing: its cost is $0, not unknown."""
    return _same_endpoint(prepared, runner) and bool(prepared.facts and prepared.facts.embedded)


def _interrupted(route: router.Route, runner: Executor | None, streamed: str) -> ExecutionResult:
    """A call the user stopped: what had streamed, named after whoever was answering."""
    result = route.failed(
        CallInterrupted(
            "interrupted (Ctrl-C)" + (": the answer is incomplete" if streamed else ""),
            "run it again, or continue it: ccw cli --resume ID",
        )
    )
    result.output = streamed
    if runner is not None:
        result.model, result.provider = runner.model, runner.provider
        result.endpoint_id, result.tool = runner.endpoint_id, runner.name
    return result


def _finish(
    result: ExecutionResult,
    options: RunOptions,
    prepared: _Prepared,
    messages: Messages | None,
    started: float,
    on_event: events.OnEvent,
) -> None:
    result.mode = options.mode
    result.duration_ms = int((time.monotonic() - started) * 1000)
    if options.record:
        parent = prepared.resumed.call_id if prepared.resumed is not None else None
        _record(result, options, messages, parent, on_event)


def _resume(options: RunOptions, on_event: events.OnEvent) -> Resumed:
    """The call ``--resume`` continues: the one named, or the latest of this project."""
    from ccw.history import open_history
    from ccw.paths import find_project_root

    with open_history() as history:
        try:
            if options.resume:
                return history.resume_point(options.resume)
            return history.resume_point(None, str(find_project_root(options.cwd)))
        finally:
            for warning in history.warnings:
                on_event(events.Warning(warning))


def _record(
    result: ExecutionResult,
    options: RunOptions,
    messages: Messages | None,
    parent: str | None,
    on_event: events.OnEvent,
) -> None:
    """Record the call (in its conversation when it continues one); what the history had to
    say (a database moved aside, a call it could not record) goes out as warnings."""
    from ccw.history import open_history

    with open_history() as history:
        result.id = history.record(
            result,
            prompt=with_input(options.prompt, options.input),
            messages=messages,
            cwd=str(options.cwd),
            # A tool on an endpoint picks its run's id before it starts (its own model
            # calls are recorded under it): keep that id unless --id names one.
            call_id=options.call_id or result.id,
            parent_id=parent,
        )
    for warning in history.warnings:
        on_event(events.Warning(warning))
