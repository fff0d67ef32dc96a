"""``ccw cli``: send a prompt (with @file patterns) to an endpoint or a CLI tool.

The prompt comes from words, -p, -f and piped input (``ccw.cli.prompt_input``); a first word
naming a command runs that command instead (``ccw.cli.prompt_group``). Routing:
--model ENDPOINT runs LiteLLM (with --tool litellm or no --tool); no --model uses the default
endpoint; --tool gemini|qwen|codex|claude runs that CLI with --model as its own model
name; an endpoint id given with a CLI tool is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccw.cli import history_cmd, units
from ccw.cli.common import escape, info, print_json
from ccw.cli.options import (
    AllowSecretsOpt,
    FormatOpt,
    IncludeDirsOpt,
    MaxFilesOpt,
    NoCacheOpt,
    OnOverflowOpt,
    TokensOpt,
    excluded_line,
    split_dirs,
)
from ccw.cli.prompt_group import PromptGroup, model_option_pairs, prompt_words
from ccw.cli.prompt_input import gather
from ccw.cli.status_text import status_line as status_line
from ccw.cli.warm_fast import Screen
from ccw.errors import UsageError
from ccw.exec import events

if TYPE_CHECKING:
    from ccw.exec.run import Plan, RunOptions
    from ccw.result import ExecutionResult

HELP = """Send a prompt (with @file patterns) to an endpoint or a CLI tool.

The prompt: words (ccw cli "What is 2+2?"), -p TEXT, or -f FILE (-f - reads it from stdin);
-f and -p together send the file's text, then -p's. Text piped in (git diff | ccw cli
"Review this diff") is sent ahead of the prompt, marked as input, and never scanned for
@patterns; a pipe silent for a second is not waited on (--input - waits for it).
A @pattern that matches no file stops the call (exit 2) unless --allow-empty.

Routing: --model ENDPOINT runs LiteLLM on that endpoint (with --tool litellm or no --tool).
No --model: the default endpoint (a fresh project: the embedded local model, whose answers
stop at 128 tokens unless -o max_tokens N).
--tool gemini|qwen|codex|claude runs that CLI, --model being its own model name; -s and -o
are LiteLLM's only.
An endpoint id given with a CLI tool is an error.

Conversations: --continue (or a bare --resume) continues this project's last call on its
endpoint; --resume ID continues that call. ccw cli history --conversation ID lists one."""

app = typer.Typer(help=HELP, invoke_without_command=True, rich_markup_mode=None, cls=PromptGroup)
history_cmd.register(app)


@app.callback(invoke_without_command=True)
def cli(
    ctx: typer.Context,
    prompt: Annotated[
        str | None,
        typer.Option("--prompt", "-p", metavar="TEXT", help="The prompt; @patterns pull in files."),
    ] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file", "-f", metavar="FILE", help="Read the prompt from FILE (- for stdin)."
        ),
    ] = None,
    input_file: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            metavar="FILE",
            help="Send FILE ahead of the prompt as input, never scanned for @patterns "
            "(- waits for all of stdin).",
        ),
    ] = None,
    system: Annotated[
        str | None,
        typer.Option("--system", "-s", metavar="TEXT", help="The system prompt (LiteLLM)."),
    ] = None,
    model_option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            metavar="KEY VALUE",
            help="A model parameter, repeatable: temperature, max_tokens, top_p, seed, stop, "
            "presence_penalty, frequency_penalty (LiteLLM).",
        ),
    ] = None,  # the group takes the pairs out of the arguments (ccw.cli.prompt_group)
    tool: Annotated[
        str | None,
        typer.Option(
            "--tool", metavar="NAME", help="litellm (default), gemini, qwen, codex, claude."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", metavar="ID", help="Endpoint id (LiteLLM) or the CLI tool's model."
        ),
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", metavar="MODE", help="analysis, write or auto.")
    ] = "analysis",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Wait for the whole answer.")] = (
        False
    ),
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", metavar="S", help="Seconds before the call is abandoned."),
    ] = None,
    cd: Annotated[
        Path | None,
        typer.Option("--cd", metavar="DIR", help="Run in DIR (patterns are relative to it)."),
    ] = None,
    include_dirs: IncludeDirsOpt = None,
    no_cache: NoCacheOpt = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show files, tokens and cost; send nothing (no key needed)."
        ),
    ] = False,
    fmt: FormatOpt = "xml",
    on_overflow: OnOverflowOpt = "skip",
    max_files: MaxFilesOpt = None,
    allow_secrets: AllowSecretsOpt = False,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Send even when a @pattern matches no file."),
    ] = False,
    tokens: TokensOpt = "estimate",
    fit: Annotated[
        bool,
        typer.Option(
            "--fit",
            help="Shrink the pack to the model's context window: files named by path stay "
            "whole, the rest keep their signatures or are left out.",
        ),
    ] = False,
    pack: Annotated[
        bool, typer.Option("--pack", help="CLI tools: pack @patterns instead of passing them.")
    ] = False,
    call_id: Annotated[
        str | None, typer.Option("--id", metavar="NAME", help="Name this call in history.")
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="[ID]",
            help="Continue a LiteLLM conversation from call ID (bare: like --continue).",
        ),
    ] = None,
    keep_going: Annotated[
        bool,
        typer.Option("--continue", "-c", help="Continue this project's latest LiteLLM call."),
    ] = False,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            metavar="USD",
            min=0,
            help="Refuse the call (exit 17, nothing sent) if its input is estimated to cost "
            "more; budgets: ccw budget.",
        ),
    ] = None,
) -> None:
    """Send a prompt to an endpoint (LiteLLM) or a CLI tool; the answer streams to stdout."""
    if ctx.invoked_subcommand:
        return
    from ccw.context.options import PackOptions, parse_format, parse_overflow, parse_token_mode
    from ccw.exec.executor import parse_mode
    from ccw.exec.model_options import parse_options
    from ccw.exec.run import RunOptions

    model_options = parse_options(model_option_pairs(ctx))
    if keep_going and resume:
        raise UsageError("--continue takes the latest call; --resume ID names one: not both")
    try:
        given = gather(prompt_words(ctx), prompt, file, input_file=input_file, note=info)
    except UsageError as exc:
        if resume:  # ``--resume "go on"`` took the prompt for a call id
            raise UsageError(
                f"no prompt given (--resume took {resume!r} as the id of the call to continue)",
                f'continue the latest call with: ccw cli --continue "{resume}"',
            ) from exc
        raise
    options = RunOptions(
        prompt=given.prompt,
        input=given.piped,
        system=system,
        model_options=model_options,
        model=model,
        tool=tool,
        mode=parse_mode(mode),
        cwd=(cd or Path.cwd()).resolve(),
        packing=PackOptions(
            fmt=parse_format(fmt),
            on_overflow=parse_overflow(on_overflow),
            max_files=max_files,
            allow_secrets=allow_secrets,
            tokens=parse_token_mode(tokens),
            include_dirs=tuple(split_dirs(include_dirs, cd or Path.cwd())),
            use_cache=not no_cache,
            allow_empty=allow_empty,
            fit=fit,
        ),
        stream=not no_stream,  # --json streams too, so the idle deadline applies
        timeout=timeout,
        config=_config_option(ctx),
        call_id=call_id,
        resume="" if keep_going else resume,
        pack=pack,
        max_cost=max_cost,
    )
    if dry_run:
        _dry_run(options, as_json)
        return
    _run(options, as_json)


def _config_option(ctx: typer.Context) -> Path | None:
    root = ctx.find_root().obj
    value = root.get("config") if isinstance(root, dict) else None
    return Path(value) if value else None


def _show_status(event: events.Event) -> None:
    """Status and warning lines go to stderr; an answer piece is not a status."""
    from ccw.cli.common import warn

    if isinstance(event, events.Warning):
        warn(event.text)
    elif isinstance(event, events.Status):
        info(event.text)


def screen(as_json: bool) -> Screen:
    """The full app's screen: status lines through Rich (``ccw.cli.common``)."""
    return Screen(as_json, _show_status)


def _run(options: RunOptions, as_json: bool) -> None:
    import gc

    from ccw.exec.run import execute
    from ccw.warm import client as warm

    shown = screen(as_json)
    via = "server"
    try:
        result = warm.run(options, shown)  # None: no warm server takes it
        if result is None:
            via = "in-process"
            # One call, then the process ends. Importing LiteLLM creates so many objects
            # that the cyclic garbage collector's passes cost about 1 s here (2.8 s -> 1.8 s
            # to the first answer byte); the price is about 100 MB more peak memory, freed
            # at exit.
            gc.disable()
            result = execute(options, shown)
    except KeyboardInterrupt:
        shown.end_line()  # the history has the call as interrupted, with what streamed
        raise
    shown.end_line()
    if as_json:
        print_json({**result.to_dict(), "via": via})
    else:
        summary(result)
    if not result.success:
        raise typer.Exit(result.exit_code or 1)


def summary(result: ExecutionResult) -> None:
    """The error and its fix, or one status line: endpoint, time, tokens, files, cost."""
    from ccw.cli.common import _stderr_console, warn

    console = _stderr_console()
    if not result.success:
        console.print(f"[red]error:[/red] {escape(result.error or 'the call failed')}")
        if result.fix:
            console.print(f"  fix: {escape(result.fix)}")
        return
    if result.finish_reason == "length":
        warn(
            "the answer was cut at its token limit (max_tokens); for a longer one: -o max_tokens N"
        )
    console.print(f"[dim]{escape(status_line(result))}[/dim]")


def _dry_run(options: RunOptions, as_json: bool) -> None:
    from ccw.exec.run import plan

    result = plan(options, _show_status)
    if as_json:
        print_json(_plan_dict(result))
        return
    from ccw.cli.common import stdout_console, table

    ctx = result.context
    if ctx and ctx.files:
        rows = [[f.path, f"{f.size:,}", f"{f.tokens:,}"] for f in ctx.files]
        table("Files to send", ["file", "bytes", "tokens (est.)"], rows)
    if ctx and ctx.skipped:
        table("Left out", ["file", "reason"], [[s.path, s.reason] for s in ctx.skipped])
    if ctx and ctx.excluded:
        stdout_console().print(escape(excluded_line(ctx.excluded)), style="dim")
    _fit_lines(result)
    if result.history_turns:
        stdout_console().print(
            escape(
                f"conversation {result.conversation_id}: resends "
                f"{units.count(result.history_turns, 'earlier turn')} "
                f"(~{result.history_tokens:,} tokens)"
            )
        )
    cost = units.cost(result.input_cost, "unpriced model")
    window = f" of {result.context_window:,}" if result.context_window else ""
    stdout_console().print(
        f"{escape(result.endpoint_id or result.tool)} ({escape(result.model)}): "
        f"{units.count(len(ctx.files) if ctx else 0, 'file')}, "
        f"~{result.prompt_tokens:,}{window} input tokens, "
        f"input cost {cost}. Nothing was sent."
    )
    _advice_table(result)


def _fit_lines(result: Plan) -> None:
    """What --fit shortened (the files it left out are in the Left out table)."""
    from ccw.cli.common import stdout_console, table
    from ccw.context.fit import FittedContext

    ctx = result.context
    if not isinstance(ctx, FittedContext):
        return
    if ctx.shortened:
        table("Shortened to fit", ["file", "kept"], [[s.path, s.reason] for s in ctx.shortened])
    whole = len(ctx.files) - len(ctx.shortened)
    stdout_console().print(
        escape(
            f"--fit: ~{ctx.original_tokens:,} -> ~{ctx.total_tokens:,} pack tokens "
            f"(room for {ctx.budget:,}): {units.count(whole, 'file')} whole, "
            f"{len(ctx.shortened):,} shortened, {len(ctx.left_out_to_fit):,} left out"
            + (" (fitted pack reused from the cache)" if ctx.cache_used else "")
        )
    )


def _advice_table(result: Plan) -> None:
    """Per endpoint the call may reach: window, prompt cache, first and repeat cost."""
    from ccw.cli.common import table

    rows = []
    for item in result.advice:
        c = item.candidate
        window = f"{item.input_tokens:,} of {c.context_window:,}" if c.context_window else "?"
        if item.fits is False:
            window += " (too large)"
        if item.style == "none":
            cache = "no prompt cache"
        elif item.clears_minimum:
            cache = f"{item.style}, {item.ttl or 'default TTL'}"
        else:
            cache = f"below the minimum of {item.min_tokens:,} tokens: not cached"
        even = "-" if item.break_even is None else units.count(item.break_even, "call")
        rows.append(
            [
                f"{c.endpoint_id} ({c.role})" if c.role != "endpoint" else c.endpoint_id,
                c.model,
                window,
                cache,
                units.cost(item.first_call, "unpriced"),
                units.cost(item.repeat_call, "unpriced"),
                even,
            ]
        )
    if rows:
        table(
            "Prompt cache, per endpoint",
            ["endpoint", "model", "input tokens", "cache", "first call", "each repeat",
             "pays back after"],
            rows,
        )  # fmt: skip


def _plan_dict(result: Plan) -> dict[str, object]:
    ctx = result.context
    return {
        "dryRun": True,
        "tool": result.tool,
        "endpointId": result.endpoint_id,
        "model": result.model,
        "provider": result.provider,
        "files": [{"path": f.path, "size": f.size, "tokens": f.tokens} for f in ctx.files]
        if ctx
        else [],
        "skipped": [{"path": s.path, "reason": s.reason} for s in ctx.skipped] if ctx else [],
        "warnings": list(ctx.warnings) if ctx else [],
        "excludedByPolicy": dict(ctx.excluded) if ctx else {},
        "promptTokens": result.prompt_tokens,
        "inputCost": result.input_cost,
        "contextWindow": result.context_window,
        "historyTurns": result.history_turns,
        "historyTokens": result.history_tokens,
        "conversationId": result.conversation_id,
        "planWarnings": list(result.warnings),
        "fit": _fit_dict(ctx),
        "advice": [item.to_dict() for item in result.advice],
    }


def _fit_dict(ctx: object) -> dict[str, object] | None:
    """What --fit did to the pack (None: no --fit, or the pack already fitted)."""
    from ccw.context.fit import FittedContext

    if not isinstance(ctx, FittedContext):
        return None
    return {
        "budget": ctx.budget,
        "originalTokens": ctx.original_tokens,
        "tokens": ctx.total_tokens,
        "named": list(ctx.named),
        "shortened": [{"path": s.path, "kept": s.reason} for s in ctx.shortened],
        "leftOut": list(ctx.left_out_to_fit),
        "cacheUsed": ctx.cache_used,
    }
