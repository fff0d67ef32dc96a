"""``ccw provider``: add, list, show, update, remove and test providers."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ccw.cli.common import (
    escape,
    parse_json_option,
    print_json,
    stdout_console,
    store,
    success,
    table,
)
from ccw.cli.options import JsonOpt

app = typer.Typer(help="Manage providers (credentials and API bases).", no_args_is_help=True)

TYPES_HELP = (
    "openai, anthropic, ollama, gemini, azure, mistral, deepseek, openrouter, custom, local"
)


def _fields(
    name: str | None,
    provider_type: str | None,
    api_key: str | None,
    api_base: str | None,
    timeout: float | None,
    max_retries: int | None,
    organization: str | None,
    api_version: str | None,
    headers: str | None,
    enabled: bool | None,
) -> dict[str, Any]:
    raw = {
        "name": name,
        "type": provider_type,
        "apiKey": api_key,
        "apiBase": api_base,
        "timeout": timeout,
        "maxRetries": max_retries,
        "organization": organization,
        "apiVersion": api_version,
        "customHeaders": parse_json_option(headers, "--headers"),
        "enabled": enabled,
    }
    return {key: value for key, value in raw.items() if value is not None}


NameOpt = Annotated[str | None, typer.Option("--name", help="Display name.")]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="Key or, better, an environment reference such as '${OPENAI_API_KEY}'.",
    ),
]
BaseOpt = Annotated[str | None, typer.Option("--api-base", help="API base URL.")]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", help="Request timeout (s).")]
RetriesOpt = Annotated[int | None, typer.Option("--max-retries", help="Retries on 429/5xx.")]
OrgOpt = Annotated[str | None, typer.Option("--organization", help="OpenAI organization.")]
VersionOpt = Annotated[str | None, typer.Option("--api-version", help="API version (azure).")]
HeadersOpt = Annotated[str | None, typer.Option("--headers", help="Custom headers as JSON.")]


def _warn_if_literal(api_key: str | None) -> None:
    """A literal key, or a ``${VAR:-literal}`` fallback, puts the key in the file."""
    from ccw.config.secrets import holds_literal_secret

    if holds_literal_secret(api_key):
        from ccw.cli.common import warn

        warn("the key is stored literally in the config file; prefer --api-key '${ENV_VAR}'")


def _show(provider: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(provider)
        return
    rows = [[key, str(value)] for key, value in provider.items()]
    table(None, ["field", "value"], rows)


@app.command("add")
def add(
    ctx: typer.Context,
    provider_type: Annotated[str, typer.Option("--type", "-t", help=TYPES_HELP)],
    name: NameOpt = None,
    provider_id: Annotated[
        str | None, typer.Option("--id", help="Id (generated if absent).")
    ] = None,
    api_key: KeyOpt = None,
    api_base: BaseOpt = None,
    timeout: TimeoutOpt = None,
    max_retries: RetriesOpt = None,
    organization: OrgOpt = None,
    api_version: VersionOpt = None,
    headers: HeadersOpt = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it disabled.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a provider. Prefer --api-key '${VAR}': the file then holds no secret."""
    from ccw.config import manage

    data = _fields(
        name,
        provider_type,
        api_key,
        api_base,
        timeout,
        max_retries,
        organization,
        api_version,
        headers,
        not disabled,
    )
    if provider_id:
        data["id"] = provider_id
    provider = manage.add_provider(store(ctx), data)
    _warn_if_literal(api_key)
    if as_json:
        print_json({"success": True, "provider": manage.masked_provider(provider)})
    else:
        success(f"added provider {provider.id}")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List providers (keys masked)."""
    from ccw.config import manage
    from ccw.config.effective import effective_config

    config = effective_config(store(ctx).load())
    providers = [manage.masked_provider(p) for p in config.providers]
    if as_json:
        print_json({"providers": providers, "count": len(providers)})
        return
    rows = [
        [
            p["id"],
            p.get("name", ""),
            p["type"],
            str(p.get("apiKey") or "-"),
            str(p.get("apiBase") or "-"),
            "yes" if p.get("enabled", True) else "no",
        ]
        for p in providers
    ]
    table("Providers", ["id", "name", "type", "key", "api base", "enabled"], rows)


@app.command("show")
def show(ctx: typer.Context, provider_id: str, as_json: JsonOpt = False) -> None:
    """Show one provider (key masked)."""
    from ccw.config import manage
    from ccw.config.effective import find_provider

    provider = find_provider(store(ctx).load(), provider_id)
    _show(manage.masked_provider(provider), as_json)


@app.command("update")
def update(
    ctx: typer.Context,
    provider_id: str,
    name: NameOpt = None,
    api_key: KeyOpt = None,
    api_base: BaseOpt = None,
    timeout: TimeoutOpt = None,
    max_retries: RetriesOpt = None,
    organization: OrgOpt = None,
    api_version: VersionOpt = None,
    headers: HeadersOpt = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Enable or disable it.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change fields of a provider; id and createdAt never change."""
    from ccw.config import manage
    from ccw.errors import UsageError

    data = _fields(
        name,
        None,
        api_key,
        api_base,
        timeout,
        max_retries,
        organization,
        api_version,
        headers,
        enabled,
    )
    if not data:
        raise UsageError("nothing to update", "pass at least one option, e.g. --api-base URL")
    provider = manage.update_provider(store(ctx), provider_id, data)
    _warn_if_literal(api_key)
    if as_json:
        print_json({"success": True, "provider": manage.masked_provider(provider)})
    else:
        success(f"updated provider {provider.id}")


@app.command("remove")
def remove(ctx: typer.Context, provider_id: str, as_json: JsonOpt = False) -> None:
    """Remove a provider and the endpoints that use it."""
    from ccw.config import manage

    gone = manage.remove_provider(store(ctx), provider_id)
    if as_json:
        print_json({"success": True, "removedEndpoints": gone})
        return
    extra = f" and its endpoints: {', '.join(gone)}" if gone else ""
    success(f"removed provider {provider_id}{extra}")


@app.command("test")
def test(ctx: typer.Context, provider_id: str, as_json: JsonOpt = False) -> None:
    """Make the cheapest real request the provider allows and report the result."""
    from ccw.config.effective import find_provider
    from ccw.exec.probe import test_provider

    config = store(ctx).load()
    provider = find_provider(config, provider_id)
    result = test_provider(
        provider,
        timeout=provider.timeout or 10.0,
        local_port=config.local.port,
        allowed_env=config.allowed_env,
    )
    latency = f"({result.latency_ms} ms)"
    if as_json:
        print_json(result.to_dict())
    elif result.success:
        stdout_console().print(f"[green]✓[/green] {escape(provider_id)}: reachable {latency}")
    else:
        detail = escape(f"{provider_id}: {result.error_kind}: {result.error} {latency}")
        stdout_console().print(f"[red]✗[/red] {detail}")
    if not result.success:
        raise typer.Exit(result.exit_code)
