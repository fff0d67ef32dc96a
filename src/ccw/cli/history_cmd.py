"""``ccw cli history`` and ``ccw cli detail``: what was asked, of whom, and what came back.

``history --conversation ID`` lists one conversation's turns, oldest first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ccw.cli import units
from ccw.cli.common import escape, info, print_json, stdout_console

if TYPE_CHECKING:
    from ccw.history import History


def register(app: typer.Typer) -> None:
    """Add ``history`` and ``detail`` to the ``ccw cli`` group."""
    app.command("history")(history)
    app.command("detail")(detail)


def history(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many calls, newest first.")] = 20,
    tool: Annotated[
        str | None, typer.Option("--tool", help="Only this executor: litellm, gemini, ...")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="ok or error.")] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Full-text search of prompts and answers.")
    ] = None,
    all_projects: Annotated[
        bool,
        typer.Option("--all-projects", "-a", help="Calls of every project, not only this one."),
    ] = False,
    conversation: Annotated[
        str | None,
        typer.Option(
            "--conversation",
            metavar="ID",
            help="The turns of one conversation (ID: any of its calls), oldest first.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the calls as JSON.")] = False,
) -> None:
    """List recorded calls of this project, newest first."""
    from ccw.history import open_history
    from ccw.paths import find_project_root

    if conversation is not None:
        _conversation(conversation, as_json)
        return
    # The project around the working directory, as each call records it (not the config's:
    # one CCW_CONFIG may serve many projects).
    project = None if all_projects else str(find_project_root())
    with open_history() as store, _warnings_shown(store):
        calls = store.list(limit=limit, tool=tool, status=status, search=search, project=project)
    if as_json:
        print_json({"calls": calls, "count": len(calls)})
        return
    if not calls:
        stdout_console().print(
            "No calls recorded yet." if not (tool or status or search) else "No calls match."
        )
        if project is not None:
            info("this project's calls only; --all-projects lists every project's")
        return
    _table(calls)


@contextlib.contextmanager
def _warnings_shown(store: History) -> Iterator[None]:
    """Show on stderr what the history warned about (a damaged file moved aside), even when
    the read then fails."""
    try:
        yield
    finally:
        for message in store.warnings:
            typer.secho("warning: ", fg="yellow", err=True, nl=False)
            typer.echo(message, err=True)


def _conversation(call_id: str, as_json: bool) -> None:
    from ccw.history import open_history

    with open_history() as store, _warnings_shown(store):
        calls = store.conversation(call_id)
    if as_json:
        print_json({"conversation": calls[0]["conversationId"], "calls": calls})
        return
    info(
        f"conversation {calls[0]['conversationId']}: "
        f"{units.count(len(calls), 'turn')}, oldest first; ccw cli detail ID shows one"
    )
    _table(calls)


def _table(calls: list[dict[str, Any]]) -> None:
    """One line per call, ids whole, narrow enough for 80 columns; the prompt's first line
    gets what width is left."""
    from ccw.cli.tables import table

    headers = ["id", "time", "model", "status", "took", "cost", "prompt"]
    now = datetime.now().astimezone()
    rows = [
        [
            call["id"],
            _when(call["createdAt"], now),
            _who(call),
            _status(call),
            units.duration(call["durationMs"]),
            units.cost(call["cost"], "-"),
            call["promptPreview"],
        ]
        for call in calls
    ]
    table(None, headers, rows, wrap={"model"}, clip={"prompt"})


def _when(stamp: str, now: datetime) -> str:
    """``14:05`` today, ``Nov 30`` this year, ``2025-11-30`` before (as ``ls -l`` does)."""
    moment = datetime.fromisoformat(stamp).astimezone()
    if moment.date() == now.date():
        return moment.strftime("%H:%M")
    return moment.strftime("%b %d" if moment.year == now.year else "%Y-%m-%d")


def _who(call: dict[str, Any]) -> str:
    """The endpoint of a LiteLLM call, the tool of a CLI tool's (its model: ``detail``)."""
    if call["tool"] == "litellm":
        return str(call["endpointId"] or call["model"])
    return str(call["tool"])


def detail(
    call_id: Annotated[str, typer.Argument(metavar="ID", help="A call id from `ccw cli history`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
) -> None:
    """Show one recorded call in full: prompt, answer, usage, cost and outcome."""
    from ccw.errors import NotFoundError
    from ccw.history import open_history

    with open_history() as store, _warnings_shown(store):
        record = store.get(call_id)
    if record is None:
        raise NotFoundError(f"no call {call_id!r} in the history", "list them: ccw cli history")
    if as_json:
        print_json(record)
        return
    _show(record)


def _show(record: dict[str, Any]) -> None:
    from ccw.history.store import MAX_OUTPUT_CHARS

    console = stdout_console()
    usage = record["usage"]
    facts = [
        ("id", record["id"]),
        ("time", _local_time(record["createdAt"])),
        ("tool", record["tool"]),
        ("endpoint", record["endpointId"] or "-"),
        ("provider", record["provider"]),
        ("deployment", record["deployment"] or "-"),
        ("model", record["model"]),
        ("mode", record["mode"]),
        ("project", record["project"] or "-"),
        ("directory", record["cwd"] or "-"),
        ("status", _status(record)),
        ("finish", record["finishReason"] or "-"),
        ("conversation", record["conversationId"]),
        ("continues", record["parentId"] or "-"),
        ("duration", units.duration(record["durationMs"])),
        ("tokens", _tokens(usage)),
        ("cost", units.cost(record["cost"], "-")),
        ("context cache", _cache(record)),
    ]
    if record["fallbackFrom"]:
        facts.append(("fell back from", ", ".join(record["fallbackFrom"])))
    if record["error"]:
        facts.append(("error", f"{record['error']} [{record['errorKind'] or 'error'}]"))
    if record["fix"]:
        facts.append(("fix", record["fix"]))
    for warning in record["warnings"]:
        facts.append(("warning", warning))
    if record["outputTruncated"]:
        facts.append(
            (
                "answer",
                f"{record['outputChars']} characters; the history keeps the first "
                f"{MAX_OUTPUT_CHARS} (see the marker at its end)",
            )
        )
    width = max(len(name) for name, _ in facts)
    for name, value in facts:
        console.print(f"[bold]{name.ljust(width)}[/bold]  {escape(str(value))}")
    system = next(
        (m["content"] for m in record["messages"] or [] if m.get("role") == "system"), None
    )
    if isinstance(system, str):
        console.print("\n[bold]── system ──[/bold]")
        console.print(escape(system), soft_wrap=True)
    files = record["cachedFiles"]
    if files:
        console.print(f"\n[bold]── files packed ({len(files)}) ──[/bold]")
        for path in files:
            console.print(escape(path), soft_wrap=True)
    for name in ("prompt", "output"):
        console.print(f"\n[bold]── {name} ──[/bold]")
        console.print(
            escape(record[name]) if record[name] else "[dim](empty)[/dim]", soft_wrap=True
        )


def _local_time(stamp: str, shape: str = "%Y-%m-%d %H:%M:%S") -> str:
    return datetime.fromisoformat(stamp).astimezone().strftime(shape)


def _status(call: dict[str, Any]) -> str:
    if call["success"]:
        return "cut (max_tokens)" if call.get("finishReason") == "length" else "ok"
    if call["errorKind"] == "interrupted":
        return "interrupted"
    return f"error {call['exitCode']}" if call["exitCode"] else "error"


def _tokens(usage: dict[str, int | None]) -> str:
    if usage["promptTokens"] is None and usage["completionTokens"] is None:
        return "-"
    cached = f" ({usage['cachedTokens']} cached)" if usage["cachedTokens"] else ""
    return f"{usage['promptTokens']} in{cached} / {usage['completionTokens']} out"


def _cache(record: dict[str, Any]) -> str:
    files = record["cachedFiles"]
    if not files:
        return "-"
    return units.count(len(files), "file") + (" reused" if record["cacheUsed"] else " packed")
