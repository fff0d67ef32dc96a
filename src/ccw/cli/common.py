"""Helpers shared by the command modules: the config store, JSON and table output, messages."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ccw.cli.tables import flatten as flatten
from ccw.cli.tables import key_values as key_values
from ccw.cli.tables import table as table

if TYPE_CHECKING:
    from ccw.config.layers import LayeredConfig


def store(ctx: typer.Context) -> LayeredConfig:
    """The config a command sees: the user's file beneath the project's, or the one file
    ``ccw --config`` / ``CCW_CONFIG`` selects. ``.load()`` is the merged config, ``.path``
    the project's file; edits pick a file with ``.store_for(scope)``."""
    from ccw.config.layers import LayeredConfig

    root = ctx.find_root()
    explicit = (root.obj or {}).get("config") if isinstance(root.obj, dict) else None
    return LayeredConfig.open(explicit)


def project_root(ctx: typer.Context) -> Path:
    """The project the config belongs to: the folder holding ``.ccw/`` (or the cwd)."""
    from ccw.paths import project_root_of

    return project_root_of(store(ctx).path)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def stdout_console() -> Any:
    """Rich on stdout; when stdout is a pipe or a file, lines are never broken to a width."""
    return _console(stderr=False)


def _stderr_console() -> Any:
    return _console(stderr=True)


def _console(*, stderr: bool) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    console.soft_wrap = not console.is_terminal  # a log or a grep gets each message whole
    return console


def info(message: str) -> None:
    """A status line on stderr; stdout carries only answers and requested data."""
    _stderr_console().print(f"[dim]{escape(message)}[/dim]")


def warn(message: str) -> None:
    _stderr_console().print(f"[yellow]warning:[/yellow] {escape(message)}")


def success(message: str) -> None:
    _stderr_console().print(f"[green]✓[/green] {escape(message)}")


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def parse_json_option(value: str | None, option: str) -> Any:
    from ccw.errors import UsageError

    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{option} is not valid JSON: {exc.msg}", f'e.g. {option} \'{{"k": "v"}}\''
        ) from None
