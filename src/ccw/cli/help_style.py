"""``--help`` in the usual command-line style: ``ID``, ``--limit N``, ``PATTERNS...``.

Typer writes value types as ``<str>``, ``<list[str]>`` and required arguments as ``{ID}``,
and click cuts each command's summary with "..." to fit one line. ``apply_help_style(app)``
gives every command and group of an app the classes below, which write a metavar (or a plain
word for the type: TEXT, N, NUMBER, PATH), show optional arguments in ``[...]``, and print
each command's first sentence whole (wrapped, never cut).
"""

from __future__ import annotations

import re
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import DefaultPlaceholder

# Typer's type labels, as written between "<" and ">", and the word shown instead.
_TYPE_WORDS = {
    "str": "TEXT",
    "int": "N",
    "int range": "N",
    "float": "NUMBER",
    "float range": "NUMBER",
    "path": "PATH",
    "file": "FILE",
    "directory": "DIR",
}
_TYPE_LABEL = re.compile(r"<([^<>]+)>")


def apply_help_style(app: typer.Typer) -> None:
    """Give ``app``, its commands and its sub-apps (recursively) the clean help classes.

    Call it after every command and sub-app is registered; a class set explicitly is kept.
    """
    if isinstance(app.info.cls, DefaultPlaceholder) or app.info.cls in (None, TyperGroup):
        app.info.cls = CleanGroup
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):  # typer fills in its own default
            command.cls = CleanCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            apply_help_style(group.typer_instance)


def _type_word(match: re.Match[str]) -> str:
    label = match.group(1)
    if label.startswith("list[") and label.endswith("]"):
        label = label[5:-1]
    return _TYPE_WORDS.get(label, label.upper() if "|" not in label else label)


# Typer carries its own copy of click: its parameters, contexts and formatters are typed
# loosely here (``Any``) rather than through that private module.
Param = Any
Formatter = Any
Ctx = Any


def argument_name(param: Param) -> str:
    """An argument as usage shows it: its metavar, else its name in capitals; ``...`` when
    it takes several values."""
    name = param.metavar or (param.name or "").upper()
    return f"{name}..." if param.nargs != 1 else name


def _is_argument(param: Param) -> bool:
    return bool(param.param_type_name == "argument")


def _usage_pieces(command: TyperCommand | TyperGroup, ctx: Ctx) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if _is_argument(param):
            name = argument_name(param)
            pieces.append(name if param.required else f"[{name}]")
    return pieces


def _format_params(command: TyperCommand | TyperGroup, ctx: Ctx, out: Formatter) -> None:
    arguments: list[tuple[str, str]] = []
    options: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        shown, help_text = record
        if _is_argument(param):
            arguments.append((argument_name(param), help_text))
        else:
            options.append((_TYPE_LABEL.sub(_type_word, shown), help_text))
    if arguments:
        with out.section("Arguments"):
            out.write_dl(arguments)
    if options:
        with out.section("Options"):
            out.write_dl(options)


class CleanCommand(TyperCommand):
    """A command whose help shows plain metavars and plain argument names."""

    def collect_usage_pieces(self, ctx: Ctx) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_options(self, ctx: Ctx, formatter: Formatter) -> None:
        _format_params(self, ctx, formatter)


class CleanGroup(TyperGroup):
    """A group whose help lists each command's first sentence whole."""

    def collect_usage_pieces(self, ctx: Ctx) -> list[str]:
        return [*_usage_pieces(self, ctx), self.subcommand_metavar]

    def format_options(self, ctx: Ctx, formatter: Formatter) -> None:
        _format_params(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: Ctx, formatter: Formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
