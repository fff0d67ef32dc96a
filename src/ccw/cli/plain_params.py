"""Typer parameters coerced without pydantic when their values are plain.

Typer coerces each parameter of the invoked command through a pydantic ``TypeAdapter`` that
it builds at run time: importing pydantic's validators and generating one schema per
parameter is most of the fixed cost of a command such as ``ccw pack``. A plain value needs
none of it: text, a flag, a whole number inside its range, a path, or a list of those. Such
values are taken here as Typer would take them; anything else (another form, out of range,
invalid) goes to Typer's own coercion, which gives its usual result or message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._click import Context
from typer._coercion import RuntimeParam, build_runtime_param
from typer._param_types import coerce_cli_path
from typer.core import _TyperParameter

_WHOLE = re.compile(r"[+-]?[0-9]+")


class _NotPlain(Exception):
    """The value is not in a plain form: Typer's own coercion decides."""


def _leaf(annotation: Any, param: _TyperParameter, value: Any, ctx: Context) -> Any:
    info = param.type_descriptor.parameter_info
    if annotation is str and isinstance(value, str):
        return value
    if annotation is bool and isinstance(value, bool):
        return value
    if annotation is int and isinstance(value, str) and _WHOLE.fullmatch(value):
        number = int(value)
        if (info.min is None or number >= info.min) and (info.max is None or number <= info.max):
            return number
    if annotation is Path and info.path_type is None and isinstance(value, str) and value:
        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    raise _NotPlain


@dataclass(frozen=True)
class _PlainFirst(RuntimeParam):
    """Plain values here; the rest through the runtime parameter Typer builds."""

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        annotation: Any = self.annotation
        try:
            if get_origin(annotation) is list and isinstance(value, list | tuple):
                (item,) = get_args(annotation)
                return [_leaf(item, param, each, ctx) for each in value]
            return _leaf(annotation, param, value, ctx)
        except _NotPlain:
            return build_runtime_param(param.type_descriptor).coerce(value, param=param, ctx=ctx)


def _eligible(param: _TyperParameter) -> bool:
    descriptor = param.type_descriptor
    info = descriptor.parameter_info
    annotation: Any = descriptor.annotation
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    return (
        descriptor.file_annotation is None
        and info.parser is None
        and not info.clamp
        and (annotation in (str, bool, int) or annotation is Path)
    )


def _give(param: Any) -> None:
    if isinstance(param, _TyperParameter) and _eligible(param):
        descriptor = param.type_descriptor
        param._runtime_param = _PlainFirst(descriptor.parameter_info, descriptor.annotation)


def install(command: Any) -> None:
    """Give every eligible parameter of ``command`` and of its sub-commands, their help
    options included (made on first use), plain-first coercion."""
    for param in getattr(command, "params", ()):
        _give(param)
    make_help_option = getattr(command, "get_help_option", None)
    if make_help_option is not None:

        def get_help_option(ctx: Context) -> Any:
            option = make_help_option(ctx)
            _give(option)
            return option

        command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        install(sub)
