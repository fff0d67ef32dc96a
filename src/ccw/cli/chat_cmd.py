"""``ccw chat``: an interactive conversation with an endpoint, one line per turn.

Each line is a ``ccw cli`` call continuing the previous answer (``--resume``), so the whole
session is one conversation in the history, ``@patterns`` work on any line, and the usage and
cost follow each answer. Lines starting with ``!`` are commands (``CHAT_COMMANDS``). A turn
goes to a running warm server (``ccw serve``) when one takes it, by the same rules as
``ccw cli``, and runs in-process otherwise; without a warm server LiteLLM is imported in the
background while the first line is typed and stays imported, so no turn waits for it after
the first. Ctrl-C stops the answer being written (the history keeps it as interrupted) and
the session goes on; Ctrl-D or ``!quit`` ends it.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from ccw.cli.common import escape, info
from ccw.errors import CcwError

CHAT_COMMANDS = {
    "!reset": "start a new conversation",
    "!model ID": "send the next turns to endpoint ID (the conversation goes on)",
    "!help": "list these commands",
    "!quit": "end the session (or Ctrl-D)",
}
PROMPT = "> "


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)


@dataclass
class Session:
    """What the next turn continues and where it goes."""

    model: str | None
    system: str | None
    cwd: Path
    config: Path | None
    parent: str | None = None  # the call the next turn continues (None: a new conversation)
    conversations: list[str] = field(default_factory=list)


def chat(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Option("--model", "-m", metavar="ID", help="Endpoint id to talk to.")
    ] = None,
    system: Annotated[
        str | None, typer.Option("--system", "-s", metavar="TEXT", help="The system prompt.")
    ] = None,
    cd: Annotated[
        Path | None,
        typer.Option("--cd", metavar="DIR", help="Run in DIR (patterns are relative to it)."),
    ] = None,
) -> None:
    """Talk with an endpoint: each line is a turn, @patterns pull in files, !help lists the
    commands, Ctrl-C stops an answer, Ctrl-D ends."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())

    root = ctx.find_root().obj
    config = root.get("config") if isinstance(root, dict) else None
    session = Session(model, system, (cd or Path.cwd()).resolve(), Path(config) if config else None)
    if not _warm_server_listens():
        threading.Thread(target=_warm_up, daemon=True).start()
    where = model or "the default endpoint"
    info(f"chatting with {where}; !help lists the commands, Ctrl-D ends")
    while True:
        try:
            line = input(PROMPT)
        except EOFError:
            sys.stdout.write("\n")
            break
        except KeyboardInterrupt:  # at the prompt: drop the line, as a shell does
            sys.stdout.write("\n")
            continue
        text = line.strip()
        if not text:
            continue
        if text.startswith("!"):
            if not _command(session, text):
                break
            continue
        _turn(session, line)
    for conversation in dict.fromkeys(session.conversations):
        info(f"conversation {conversation}: ccw cli history --conversation {conversation}")


def _warm_server_listens() -> bool:
    """Whether turns will likely go to a warm server (then this process need not import
    LiteLLM; a turn that falls back still runs here)."""
    from ccw.warm import client as warm

    return warm.listening()


def _warm_up() -> None:
    """Import LiteLLM while the user types the first line."""
    with contextlib.suppress(Exception):
        from ccw.exec.litellm_call import load_litellm

        load_litellm()


def _command(session: Session, text: str) -> bool:
    """Run a ``!`` command; False ends the session."""
    name, _, argument = text.partition(" ")
    argument = argument.strip()
    if name in ("!quit", "!exit", "!q"):
        return False
    if name == "!reset":
        session.parent = None
        info("new conversation")
    elif name == "!model" and argument:
        problem = _unknown_endpoint(session, argument)
        if problem is not None:
            _error(problem)
        else:
            session.model = argument
            info(f"the next turns go to {argument}")
    elif name == "!help":
        width = max(len(command) for command in CHAT_COMMANDS)
        for command, meaning in CHAT_COMMANDS.items():
            info(f"{command.ljust(width)}  {meaning}")
        info("any other line is a prompt; @patterns pull in files")
    else:
        info(f"unknown command {text}; !help lists them")
    return True


def _unknown_endpoint(session: Session, endpoint_id: str) -> CcwError | None:
    """Why ``endpoint_id`` cannot take the next turns (None: it can)."""
    from ccw.config.effective import find_endpoint
    from ccw.config.layers import LayeredConfig

    try:
        find_endpoint(LayeredConfig.open(session.config, session.cwd).load(), endpoint_id)
    except CcwError as exc:
        return exc
    return None


def _error(exc: CcwError) -> None:
    from ccw.cli.common import _stderr_console

    console = _stderr_console()
    console.print(f"[red]error:[/red] {escape(exc.message)}")
    if exc.fix:
        console.print(f"  fix: {escape(exc.fix)}")


def _turn(session: Session, line: str) -> None:
    """One call continuing the conversation; its answer streams, then its status line."""
    from ccw.cli.run_cmd import screen as make_screen
    from ccw.cli.run_cmd import summary
    from ccw.exec.run import RunOptions, execute
    from ccw.warm import client as warm

    options = RunOptions(
        prompt=line,
        model=session.model,
        system=session.system,
        cwd=session.cwd,
        config=session.config,
        resume=session.parent,
    )
    screen = make_screen(as_json=False)
    try:
        result = warm.run(options, screen)  # None: no warm server takes it
        if result is None:
            result = execute(options, screen)
    except KeyboardInterrupt:
        screen.end_line()
        info("answer stopped; the history keeps it as interrupted")
        return
    except CcwError as exc:
        _error(exc)
        return
    screen.end_line()
    summary(result)
    if result.success and result.id is not None:
        session.parent = result.id
        session.conversations.append(result.conversation_id or result.id)
