"""``ccw proxy``: this project on a team's LiteLLM proxy."""

from __future__ import annotations

from typing import Annotated

import typer

from ccw.cli.common import print_json, project_root, store, success
from ccw.cli.options import JsonOpt

app = typer.Typer(help="Work with a team's LiteLLM proxy.", no_args_is_help=True)


def _default_name(project: str) -> str:
    return "CCW_PROXY_KEY_" + "".join(c if c.isalnum() else "_" for c in project.upper())


@app.command("key")
def key(
    ctx: typer.Context,
    budget: Annotated[
        float, typer.Option("--budget", metavar="USD", help="The key's spending limit in USD.")
    ],
    duration: Annotated[
        str, typer.Option("--duration", help="How long the key lasts: 30d, 12h, 4w, 1mo.")
    ] = "30d",
    admin_key_env: Annotated[
        str,
        typer.Option(
            "--admin-key-env",
            metavar="VAR",
            help="Variable (or ccw keys name) holding the proxy's admin key.",
        ),
    ] = "LITELLM_MASTER_KEY",
    provider: Annotated[
        str | None,
        typer.Option("--provider", "-p", help="The litellm-proxy provider (default: the one)."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", metavar="VAR", help="Store the key as VAR (CCW_PROXY_KEY_<PROJECT>)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a key already stored under that name.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Mint a virtual key for this project on the proxy (its spend limit, its lifetime, the
    project's tag on every call made with it) and store it with ccw keys; only the masked
    key and the name to reference are shown."""
    from ccw.config.keystore import KeyStore, check_name
    from ccw.config.secrets import mask
    from ccw.errors import UsageError
    from ccw.exec.proxy_client import project_name
    from ccw.exec.proxy_http import proxy_provider, resolve_variable
    from ccw.exec.proxy_keys import check_request, mint_key

    check_request(budget, duration)
    check_name(admin_key_env)
    project = project_name(project_root(ctx))
    variable = check_name(name or _default_name(project))
    keys = KeyStore()
    if keys.get(variable) is not None and not force:
        raise UsageError(
            f"a key named {variable} is already stored",
            "pass --force to replace it, or --name VAR for another name",
        )
    config = store(ctx).load()
    chosen = proxy_provider(config, provider).id
    admin = resolve_variable(
        admin_key_env, what=f"the proxy's admin key (--admin-key-env {admin_key_env})"
    )
    minted = mint_key(
        config,
        project=project,
        budget=budget,
        duration=duration,
        admin_key=admin,
        provider_id=chosen,
    )
    keys.set(variable, minted.key)
    reference = f"${{{variable}}}"
    if as_json:
        print_json(
            {
                "success": True,
                "providerId": minted.provider_id,
                "project": minted.project,
                "alias": minted.alias,
                "key": mask(minted.key),
                "name": variable,
                "reference": reference,
                "maxBudget": minted.max_budget,
                "duration": minted.duration,
                "expires": minted.expires,
                "file": str(keys.path),
            }
        )
        return
    success(
        f"minted {mask(minted.key)} for project {minted.project} on {minted.provider_id} "
        f"(${minted.max_budget:g}, {minted.duration}); stored as {variable}"
    )
    typer.echo(f"use it: ccw provider update {minted.provider_id} --api-key '{reference}'")
