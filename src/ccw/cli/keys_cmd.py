"""``ccw keys``: API keys stored in your user data folder, used as ``${NAME}`` references."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from ccw.cli.common import print_json, success, table, warn
from ccw.cli.options import JsonOpt

app = typer.Typer(
    help="Store API keys outside every repository; a ${NAME} reference finds them "
    "(the environment first, then this store).",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Key name, e.g. ANTHROPIC_API_KEY.")]


def _read_secret(name: str) -> str:
    """The key, prompted without echo on a terminal, else read from stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"Value for {name} (not shown): ").strip()
    return sys.stdin.read().strip() if sys.stdin is not None else ""


@app.command("set")
def set_(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """Store a key: prompted without echo, or piped: printf %s "$KEY" | ccw keys set NAME."""
    from ccw.config.keystore import KeyStore, check_name
    from ccw.config.secrets import mask
    from ccw.errors import UsageError

    check_name(name)
    value = _read_secret(name)
    if not value:
        raise UsageError(
            f"no key given for {name}",
            f'type it at the prompt, or pipe it: printf %s "$KEY" | ccw keys set {name}',
        )
    keys = KeyStore()
    replaced = keys.get(name) is not None
    keys.set(name, value)
    if as_json:
        print_json(
            {
                "success": True,
                "name": name,
                "value": mask(value),
                "replaced": replaced,
                "file": str(keys.path),
            }
        )
        return
    success(f"{'replaced' if replaced else 'stored'} {name} ({mask(value)}) in {keys.path}")
    if os.environ.get(name):
        warn(f"{name} is also set in the environment, which wins over the stored key")
    typer.echo(f"use it as: --api-key '${{{name}}}'", err=True)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List stored keys: names and masked values only."""
    from ccw.config.keystore import KeyStore
    from ccw.config.secrets import mask

    keys = KeyStore()
    stored = keys.load()
    rows: list[dict[str, Any]] = [
        {"name": name, "value": mask(value), "shadowedByEnv": bool(os.environ.get(name))}
        for name, value in sorted(stored.items())
    ]
    if as_json:
        print_json({"keys": rows, "count": len(rows), "file": str(keys.path)})
        return
    if not rows:
        typer.echo(f"no keys stored ({keys.path}); add one: ccw keys set NAME", err=True)
        return
    table(
        "Keys",
        ["name", "value", "used"],
        [
            [row["name"], str(row["value"]), "env wins" if row["shadowedByEnv"] else "yes"]
            for row in rows
        ],
    )


@app.command("remove")
def remove(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """Remove a stored key."""
    from ccw.config.keystore import KeyStore, check_name
    from ccw.errors import NotFoundError

    check_name(name)
    keys = KeyStore()
    if not keys.remove(name):
        known = ", ".join(sorted(keys.load())) or "none"
        raise NotFoundError(f"no stored key {name} (stored: {known})", "ccw keys list")
    if as_json:
        print_json({"success": True, "name": name})
    else:
        success(f"removed {name} from {keys.path}")
