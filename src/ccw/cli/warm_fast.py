"""``ccw cli`` on a running warm server, without Typer, pydantic or Rich.

The full app spends far longer importing its framework and the config schema than a warm
server takes to answer. ``serve_cli`` takes a ``ccw cli`` whose arguments are all plain
(a prompt as words or ``-p TEXT``, ``--model ID``, ``--system TEXT``, ``--id NAME``,
``--json``, ``--no-stream``) while standard input is a terminal or ``/dev/null``, and sends
it to the warm server with ``ccw.warm.client.run_quietly``. Anything else (another option,
piped input, no server, a server of another version or config) returns ``None`` having
printed nothing and changed nothing: the full app then runs the call and says why, as it
always did. The output is the full app's, byte for byte: the answer streamed to stdout, the
status lines on stderr (plain text on a pipe, Rich's rendering otherwise), the same
``--json``, exit codes and history (the server records it either way).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ccw.exec import events

# Option -> (field of CliArgs, takes a value).
OPTIONS: dict[str, tuple[str, bool]] = {
    "-p": ("prompt", True),
    "--prompt": ("prompt", True),
    "-m": ("model", True),
    "--model": ("model", True),
    "-s": ("system", True),
    "--system": ("system", True),
    "--id": ("call_id", True),
    "--json": ("as_json", False),
    "--no-stream": ("no_stream", False),
}
# The ``ccw cli`` subcommands: a first word naming one runs it (``ccw.cli.prompt_group``).
COMMANDS = frozenset({"history", "detail"})
# What Rich would turn into an emoji (``:smile:``): such a line is left to Rich.
_EMOJI_CODE = re.compile(r":\S*?:")


@dataclass(frozen=True)
class CliArgs:
    """A plain ``ccw cli`` call."""

    prompt: str = ""
    model: str | None = None
    system: str | None = None
    call_id: str | None = None
    as_json: bool = False
    no_stream: bool = False


def parse_cli(args: list[str]) -> CliArgs | None:
    """``ccw cli ARGS`` when every argument is in a plain form, else None."""
    values: dict[str, Any] = {}
    words: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if not arg.startswith("-"):
            words.append(arg)
            continue
        name, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        known = OPTIONS.get(name)
        if known is None:
            return None
        field, takes_value = known
        if field in values or (equals and not takes_value):
            return None  # a repeat or ``--json=...``: the full app decides
        if takes_value and not equals:
            if index == len(args) or args[index].startswith("-"):
                return None
            value = args[index]
            index += 1
        values[field] = value if takes_value else True
    if bool(words) == ("prompt" in values):
        return None  # no prompt, or words and -p both: the full app says what is wrong
    if words and words[0] in COMMANDS:
        return None
    prompt = " ".join(words) if words else values.pop("prompt")
    if not prompt.strip() or prompt == "-":
        return None
    return replace(CliArgs(prompt=prompt), **values)


def stdin_is_quiet() -> bool:
    """Standard input is a terminal, closed or ``/dev/null``: nothing is piped in."""
    try:
        if os.isatty(0):
            return True
        here, null = os.fstat(0), os.stat(os.devnull)
    except OSError:
        return True  # closed: the full app reads it as a terminal too
    return (here.st_dev, here.st_ino) == (null.st_dev, null.st_ino)


def options_dict(args: CliArgs, cwd: Path) -> dict[str, Any]:
    """The options the full app would build, less what the server fills with defaults."""
    return {
        "prompt": args.prompt,
        "model": args.model,
        "system": args.system,
        "cwd": str(cwd),
        "stream": not args.no_stream,
        "call_id": args.call_id,
        "config": os.environ.get("CCW_CONFIG") or None,  # the full app's --config reads it
    }


def serve_cli(argv: list[str]) -> int | None:
    """Run ``ccw cli ARGV`` on the warm server: its exit code, or None (the full app takes
    it; nothing was printed)."""
    args = parse_cli(argv)
    if args is None or not stdin_is_quiet():
        return None
    try:
        cwd = Path.cwd().resolve()
    except OSError:  # the folder is gone: the full app says so
        return None
    from ccw.warm import client

    screen = Screen(args.as_json)
    try:
        result = client.run_quietly(options_dict(args, cwd), cwd, screen)
    except client.WarmCallError as exc:
        sys.stderr.write(f"error: {exc.message}\n" + (f"  fix: {exc.fix}\n" if exc.fix else ""))
        return exc.exit_code
    except KeyboardInterrupt:
        screen.end_line()
        raise
    if result is None:
        return None
    screen.end_line()
    if args.as_json:
        import json

        data = {**result.to_dict(), "via": "server"}
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif not result.success:
        say(result.error or "the call failed", "red", "error:")
        if result.fix:
            say(f"  fix: {result.fix}", None)
    else:
        from ccw.cli.status_text import status_line

        if result.finish_reason == "length":
            say(
                "the answer was cut at its token limit (max_tokens); for a longer one: "
                "-o max_tokens N",
                "yellow",
                "warning:",
            )
        say(status_line(result))
    return 0 if result.success else result.exit_code or 1


def show_status(event: events.Event) -> None:
    """A status or warning line on stderr, without loading Rich where it adds nothing."""
    if isinstance(event, events.Warning):
        say(event.text, "yellow", "warning:")
    elif isinstance(event, events.Status):
        say(event.text)


class Screen:
    """Renders a call's events, for the full app and the fast path alike: the answer to
    stdout as it comes (unless --json), status lines to stderr (``show``); remembers
    whether the answer ended its last line."""

    def __init__(self, as_json: bool, show: Callable[[events.Event], None] = show_status) -> None:
        from ccw.cli.pack_run import ProgressBar

        self.as_json = as_json
        self.show = show
        self.open_line = False
        self.progress = ProgressBar()

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.Progress):
            self.progress(event.done, event.total)
            if event.done == event.total:
                self.progress.close()
        elif not isinstance(event, events.Text):
            self.show(event)
        elif not self.as_json and event.piece:
            sys.stdout.write(event.piece)
            sys.stdout.flush()
            self.open_line = not event.piece.endswith("\n")

    def end_line(self) -> None:
        if self.open_line:
            sys.stdout.write("\n")
            sys.stdout.flush()


def say(text: str, style: str | None = "dim", label: str | None = None) -> None:
    """One stderr line as the full app prints it through Rich: ``[style]text[/style]``, or
    ``[style]label[/style] text``. On a pipe or a file Rich adds nothing to printable text,
    so it is written as it is; on a terminal, or for text Rich would change (tabs, control
    characters, emoji codes), Rich renders it."""
    plain = f"{label} {text}" if label else text
    if _plain_stderr() and plain.isprintable() and not _EMOJI_CODE.search(plain):
        sys.stderr.write(plain + "\n")
        sys.stderr.flush()
        return
    from rich.console import Console
    from rich.markup import escape

    if label:
        markup = f"[{style}]{label}[/{style}] {escape(text)}"
    else:
        markup = f"[{style}]{escape(text)}[/{style}]" if style else escape(text)
    console = Console(stderr=True, highlight=False)
    console.soft_wrap = not console.is_terminal
    console.print(markup)


def _plain_stderr() -> bool:
    """Rich would print stderr without styles: not a terminal, and not forced to be one."""
    if os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE"):
        return False
    try:
        return not sys.stderr.isatty()
    except (ValueError, AttributeError):
        return False
