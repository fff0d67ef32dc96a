"""``ccw cli``: send a prompt (with @file patterns) to an endpoint or a CLI tool.

Routing: --model ENDPOINT runs LiteLLM (with --tool litellm or no --tool); no --model uses the
default endpoint; --tool gemini|qwen|codex|claude runs that CLI with --model as its own model
name; an endpoint id given with a CLI tool is an error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccw.cli import history_cmd
from ccw.cli.common import escape, print_json
from ccw.cli.options import (
    AllowSecretsOpt,
    FormatOpt,
    IncludeDirsOpt,
    NoCacheOpt,
    OnOverflowOpt,
    TokensOpt,
    excluded_line,
    split_dirs,
)
from ccw.exec import events

if TYPE_CHECKING:
    from ccw.exec.run import Plan, RunOptions
    from ccw.result import ExecutionResult

HELP = """Send a prompt (with @file patterns) to an endpoint or a CLI tool.

Routing: --model ENDPOINT runs LiteLLM on that endpoint (with --tool litellm or no --tool).
No --model: the default endpoint (a fresh project: the embedded local model).
--tool gemini|qwen|codex|claude runs that CLI, --model being its own model name.
An endpoint id given with a CLI tool is an error."""

app = typer.Typer(help=HELP, invoke_without_command=True, rich_markup_mode=None)
history_cmd.register(app)


def _read_prompt(prompt: str | None, file: str | None) -> str:
    from ccw.errors import UsageError

    if prompt is not None and file is not None:
        raise UsageError("give the prompt once: -p TEXT or -f FILE, not both")
    if prompt == "-" or file == "-":
        return sys.stdin.read()
    if file is not None:
        path = Path(file)
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"prompt file not found: {file}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read prompt file {file}: {exc}") from None
    if prompt is None:
        raise UsageError("no prompt given", 'pass -p "...", -f FILE, or -f - to read stdin')
    return prompt


@app.callback(invoke_without_command=True)
def cli(
    ctx: typer.Context,
    prompt: Annotated[
        str | None, typer.Option("--prompt", "-p", help="The prompt; @patterns pull in files.")
    ] = None,
    file: Annotated[
        str | None, typer.Option("--file", "-f", help="Read the prompt from FILE (- for stdin).")
    ] = None,
    tool: Annotated[
        str | None, typer.Option("--tool", help="litellm (default), gemini, qwen, codex, claude.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Endpoint id (LiteLLM) or the CLI tool's model."),
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="analysis, write or auto.")] = "analysis",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Wait for the whole answer.")] = (
        False
    ),
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds before the call is abandoned.")
    ] = None,
    cd: Annotated[
        Path | None, typer.Option("--cd", help="Run in DIR (patterns are relative to it).")
    ] = None,
    include_dirs: IncludeDirsOpt = None,
    no_cache: NoCacheOpt = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show files, tokens and cost; send nothing.")
    ] = False,
    fmt: FormatOpt = "xml",
    on_overflow: OnOverflowOpt = "skip",
    allow_secrets: AllowSecretsOpt = False,
    tokens: TokensOpt = "estimate",
    pack: Annotated[
        bool, typer.Option("--pack", help="CLI tools: pack @patterns instead of passing them.")
    ] = False,
    call_id: Annotated[str | None, typer.Option("--id", help="Name this call in history.")] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            help="Continue a LiteLLM conversation (ID, or the last call when no ID).",
        ),
    ] = None,
) -> None:
    """Send a prompt to an endpoint (LiteLLM) or a CLI tool; the answer streams to stdout."""
    if ctx.invoked_subcommand:
        return
    from ccw.context.options import PackOptions, parse_format, parse_overflow, parse_token_mode
    from ccw.exec.executor import parse_mode
    from ccw.exec.run import RunOptions

    options = RunOptions(
        prompt=_read_prompt(prompt, file),
        model=model,
        tool=tool,
        mode=parse_mode(mode),
        cwd=(cd or Path.cwd()).resolve(),
        packing=PackOptions(
            fmt=parse_format(fmt),
            on_overflow=parse_overflow(on_overflow),
            allow_secrets=allow_secrets,
            tokens=parse_token_mode(tokens),
            include_dirs=tuple(split_dirs(include_dirs, cd or Path.cwd())),
            use_cache=not no_cache,
        ),
        stream=not no_stream,  # --json streams too, so the idle deadline applies
        timeout=timeout,
        config=_config_option(ctx),
        call_id=call_id,
        resume=resume,
        pack=pack,
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
    from ccw.cli.common import info, warn

    if isinstance(event, events.Warning):
        warn(event.text)
    elif isinstance(event, events.Status):
        info(event.text)


class _Screen:
    """Renders a call's events: the answer to stdout as it comes (unless --json), status
    lines to stderr; remembers whether the answer ended its last line."""

    def __init__(self, as_json: bool) -> None:
        from ccw.cli.pack_cmd import ProgressBar

        self.as_json = as_json
        self.open_line = False
        self.progress = ProgressBar()

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.Progress):
            self.progress(event.done, event.total)
            if event.done == event.total:
                self.progress.close()
        elif not isinstance(event, events.Text):
            _show_status(event)
        elif not self.as_json and event.piece:
            sys.stdout.write(event.piece)
            sys.stdout.flush()
            self.open_line = not event.piece.endswith("\n")

    def end_line(self) -> None:
        if self.open_line:
            sys.stdout.write("\n")
            sys.stdout.flush()


def _run(options: RunOptions, as_json: bool) -> None:
    import gc

    from ccw.exec.run import execute

    # One call, then the process ends. Importing LiteLLM creates so many objects that the
    # cyclic garbage collector's passes cost about 1 s here (2.8 s -> 1.8 s to the first
    # answer byte); the price is about 100 MB more peak memory (330 MB), freed at exit.
    gc.disable()

    screen = _Screen(as_json)
    result = execute(options, screen)
    screen.end_line()
    if as_json:
        print_json(result.to_dict())
    else:
        _summary(result)
    if not result.success:
        raise typer.Exit(result.exit_code or 1)


def _summary(result: ExecutionResult) -> None:
    from ccw.cli.common import _stderr_console

    console = _stderr_console()
    if not result.success:
        console.print(f"[red]error:[/red] {escape(result.error or 'the call failed')}")
        if result.fix:
            console.print(f"  fix: {escape(result.fix)}")
        return
    parts = [f"{result.duration_ms / 1000:.1f} s"]
    usage = result.usage
    if usage.prompt_tokens is not None:
        cached = f" ({usage.cached_tokens} cached)" if usage.cached_tokens else ""
        parts.append(f"{usage.prompt_tokens} in{cached} / {usage.completion_tokens} out")
    if result.cached_files:
        state = "reused" if result.cache_used else "packed"
        parts.append(f"{len(result.cached_files)} files {state}")
    parts.append(f"${result.cost:.6f}" if result.cost is not None else "cost unknown")
    where = result.endpoint_id or result.tool
    console.print(f"[dim]{escape(where)} · {escape(' · '.join(parts))}[/dim]")


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
    cost = f"${result.input_cost:.6f}" if result.input_cost is not None else "unpriced model"
    stdout_console().print(
        f"{escape(result.endpoint_id or result.tool)} ({escape(result.model)}): "
        f"{len(ctx.files) if ctx else 0} files, ~{result.prompt_tokens:,} input tokens, "
        f"input cost {cost}. Nothing was sent."
    )


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
    }
