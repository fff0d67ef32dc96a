"""``ccw config``: where the file is, what it holds (masked), and whether it is valid."""

from __future__ import annotations

from typing import Annotated

import typer

from ccw.cli.common import print_json, store, success

app = typer.Typer(help="Show and check the config file.", no_args_is_help=True)


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print the config file's path."""
    typer.echo(str(store(ctx).path))


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Print the config as JSON with every key masked."""
    from ccw.config import manage

    print_json(manage.masked_config(store(ctx).load()))


@app.command("allow-env")
def allow_env(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(help="Environment variable names.")],
    remove: Annotated[bool, typer.Option("--remove", help="Take the names off the list.")] = False,
) -> None:
    """Let apiBase and header values refer to these variables, and the API set them as keys.

    The list (``allowedEnvVars`` in the file) is edited only here or by hand, never through the
    HTTP API.
    """
    from ccw.config import manage

    current = manage.allow_env(store(ctx), names, remove=remove)
    success("allowedEnvVars: " + (", ".join(current) if current else "(none)"))


@app.command("validate")
def validate(ctx: typer.Context) -> None:
    """Check the file: JSON, schema, and references between endpoints and providers."""
    from ccw.config.validate import check

    config_store = store(ctx)
    if not config_store.exists():
        success(f"no config file yet at {config_store.path}; defaults apply")
        return
    problems = check(config_store.load())
    if problems:
        from ccw.errors import ConfigError

        raise ConfigError(
            f"{config_store.path}: " + "; ".join(problems),
            "edit the file or use ccw endpoint/provider",
        )
    success(f"{config_store.path} is valid")
