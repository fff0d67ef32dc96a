"""The process entry: ``ccw pack`` with plain arguments starts without the CLI framework.

Importing Typer costs several times the interpreter's own start-up, which a pack of a small
tree or a cache hit would otherwise pay on every call. ``main`` reads ``ccw pack`` arguments
that are all in a plain form (the options ``ccw pack`` declares, written as ``--name value``,
``--name=value`` or ``-o FILE``, patterns, ``--``) and runs the pack itself; anything else
(help, another command, a root option such as ``--config``, an unknown option, a value out
of range) goes to the full Typer app, which gives its usual result or message. A test keeps
the table below equal to the options the Typer command declares.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from ccw.cli.pack_run import PackArgs, run_pack

# Option -> (field of PackArgs, kind): "text", "path", "count" (a whole number >= 1),
# "list" (repeatable text) or "flag".
OPTIONS: dict[str, tuple[str, str]] = {
    "--format": ("fmt", "text"),
    "-o": ("output", "path"),
    "--output": ("output", "path"),
    "--on-overflow": ("on_overflow", "text"),
    "--include-dirs": ("include_dirs", "list"),
    "--tokens": ("tokens", "text"),
    "--endpoint": ("endpoint", "text"),
    "--max-size-kb": ("max_size_kb", "count"),
    "--max-files": ("max_files", "count"),
    "--no-cache": ("no_cache", "flag"),
    "--allow-secrets": ("allow_secrets", "flag"),
    "--no-exclude-dirs": ("no_exclude_dirs", "flag"),
    "--json": ("as_json", "flag"),
    "--allow-empty": ("allow_empty", "flag"),
    "--dry-run": ("dry_run", "flag"),
}


def parse_pack(args: list[str]) -> PackArgs | None:
    """``ccw pack ARGS`` as ``PackArgs`` when every argument is in a plain form, else None
    (the Typer app then parses them, and reports what is wrong)."""
    values: dict[str, Any] = {}
    patterns: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            patterns.extend(args[index:])
            break
        if not arg.startswith("-") or arg == "-":
            patterns.append(arg)
            continue
        name, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        known = OPTIONS.get(name)
        if known is None:
            return None
        field, kind = known
        if kind == "flag":
            if equals:
                return None
            values[field] = True
            continue
        if not equals:
            if index == len(args) or args[index].startswith("-"):
                return None
            value = args[index]
            index += 1
        parsed = _value(kind, value)
        if parsed is None:
            return None
        if kind == "list":
            values[field] = (*values.get(field, ()), value)
        else:
            values[field] = parsed
    if not patterns:
        return None
    return replace(PackArgs(patterns=tuple(patterns)), **values)


def _value(kind: str, value: str) -> Any:
    if kind == "count":
        return int(value) if value.isascii() and value.isdigit() and int(value) >= 1 else None
    if kind == "path":
        return Path(value) if value else None
    return value


def main() -> NoReturn:
    """Run ``ccw``: a plain ``ccw pack`` here, everything else in the Typer app."""
    args = sys.argv[1:]
    if args[:1] == ["cli"]:
        _serve_cli(args[1:])  # returns when no warm server takes the call as it is
    parsed = parse_pack(args[1:]) if args[:1] == ["pack"] else None
    if parsed is None:
        from ccw.cli.app import main as full

        full()
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # as the full app does
    sys.exit(_ending(lambda: _pack(parsed)) or 0)


def _pack(parsed: PackArgs) -> int:
    from ccw.errors import CcwError

    try:
        run_pack(parsed, None)
    except CcwError as exc:
        sys.stderr.write(f"error: {exc.message}\n" + (f"  fix: {exc.fix}\n" if exc.fix else ""))
        return int(exc.exit_code)
    return 0


def _serve_cli(args: list[str]) -> None:
    """A plain ``ccw cli`` on a running warm server (``ccw.cli.warm_fast``); exits when served."""
    from ccw.cli.warm_fast import serve_cli

    code = _ending(lambda: serve_cli(args))
    if code is not None:
        sys.exit(code)


def _ending(action: Callable[[], int | None]) -> int | None:
    """``action``'s exit code; Ctrl-C exits as the full app does, a reader that left
    (a closed pipe) exits quietly."""
    from ccw.errors import ExitCode

    try:
        return action()
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        sys.exit(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(0)


def _quiet_stdout() -> None:
    """A reader that left: stdout is pointed at /dev/null so that the interpreter's final
    flush raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
