"""The root ``ccw`` command. Imports stay light: no litellm, no pydantic until a command runs."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Annotated, Any, NoReturn

import typer

from ccw import __version__
from ccw.cli import plain_params
from ccw.cli.help_style import CleanGroup, apply_help_style

# Each command's module, imported only when that command runs (or ``--help`` lists it):
# ``ccw pack`` pays for neither the call path nor the server. A module exposes either ``app``
# (a Typer group) or ``register(app)`` (top-level commands).
COMMANDS: dict[str, str] = {
    "cli": "ccw.cli.run_cmd",
    "chat": "ccw.cli.chat_cmd",
    "embed": "ccw.cli.embed_cmd",
    "provider": "ccw.cli.provider_cmd",
    "endpoint": "ccw.cli.endpoint_cmd",
    "config": "ccw.cli.config_cmd",
    "keys": "ccw.cli.keys_cmd",
    "cache": "ccw.cli.cache_cmd",
    "local": "ccw.cli.local_cmd",
    "pack": "ccw.cli.pack_cmd",
    "serve": "ccw.cli.serve_cmd",
    "cost": "ccw.cli.cost_cmd",
    "proxy": "ccw.cli.proxy_cmd",
    "budget": "ccw.cli.budget_cmd",
}


class _LazyGroup(CleanGroup):
    """The root group: sub-commands are built from their modules on first use."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        plain_params.install(self)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return super().get_command(ctx, cmd_name)
        module = importlib.import_module(module_name)
        holder = typer.Typer(add_completion=False, rich_markup_mode=None, callback=lambda: None)
        if hasattr(module, "register"):
            module.register(holder)
        else:
            holder.add_typer(module.app, name=cmd_name)
        apply_help_style(holder)
        command = typer.main.get_command(holder).get_command(ctx, cmd_name)  # type: ignore[attr-defined]
        plain_params.install(command)
        return command


app = typer.Typer(
    cls=_LazyGroup,
    name="ccw",
    help="Turn a prompt with @file patterns into a well-packed, cached LLM call on any provider.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ccw {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            envvar="CCW_CONFIG",
            metavar="FILE",
            help="Use this config file alone (default: your user config, then the "
            "project's .ccw/storage/config/litellm-api-config.json over it).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    ctx.obj = {"config": config}


def main() -> NoReturn:
    """Run the CLI: user errors become one message and an exit code, never a traceback."""
    from ccw.errors import CcwError, ExitCode

    # ccw uses no pydantic plugin; looking for them scans every installed distribution's
    # entry points on the first validation (a large share of a short command's time).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        code = app(args=_optional_resume(sys.argv[1:]), standalone_mode=False)
    except CcwError as exc:
        _report(exc)
        _exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("\ninterrupted\n")
        _exit(ExitCode.INTERRUPTED)
    except typer.Exit as exc:
        _exit(exc.exit_code)
    except typer.TyperException as exc:  # click's usage errors: bad flag, missing value
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            sys.stderr.write(f"error: {exc}\n")
        _exit(ExitCode.USAGE)
    except BrokenPipeError:
        _exit(0)
    if code == ExitCode.INTERRUPTED:  # Typer turns KeyboardInterrupt into exit code 130
        sys.stderr.write("\ninterrupted\n")
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> NoReturn:
    """Exit with ``code``. After a model call, skip the interpreter's teardown of LiteLLM's
    module graph (about 1 s here): everything ccw writes is committed and closed by then."""
    if "litellm" in sys.modules:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _optional_resume(args: list[str]) -> list[str]:
    """``--resume`` takes an optional id: a bare ``--resume`` means the last call ("")."""
    out: list[str] = []
    for index, arg in enumerate(args):
        out.append(arg)
        if arg == "--":
            out.extend(args[index + 1 :])
            break
        if arg == "--resume":
            following = args[index + 1] if index + 1 < len(args) else None
            if following is None or following.startswith("-"):
                out.append("")
    return out


def _report(exc: Exception) -> None:
    from ccw.errors import CcwError

    message = exc.message if isinstance(exc, CcwError) else str(exc)
    fix = exc.fix if isinstance(exc, CcwError) else None
    sys.stderr.write(f"error: {message}\n")
    if fix:
        sys.stderr.write(f"  fix: {fix}\n")
