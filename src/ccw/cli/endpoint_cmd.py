"""``ccw endpoint``: the ids ``--model`` takes: a provider, a model and a cache strategy."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ccw.cli.common import print_json, store, success, table
from ccw.cli.options import JsonOpt

app = typer.Typer(help="Manage endpoints (what --model names).", no_args_is_help=True)

NameOpt = Annotated[str | None, typer.Option("--name", help="Display name.")]
ProviderOpt = Annotated[str | None, typer.Option("--provider", "-p", help="Provider id.")]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Model name, e.g. gpt-4o.")]
DescOpt = Annotated[str | None, typer.Option("--description", help="Description.")]
CacheOpt = Annotated[
    bool | None, typer.Option("--cache/--no-cache", help="Context cache for this endpoint.")
]
TtlOpt = Annotated[int | None, typer.Option("--ttl", help="Cache lifetime in minutes.")]
SizeOpt = Annotated[int | None, typer.Option("--max-size-kb", help="Largest pack in KB.")]
PatternsOpt = Annotated[
    list[str] | None,
    typer.Option("--file-pattern", help="Glob of files that may be packed (repeatable)."),
]
MaxTokensOpt = Annotated[int | None, typer.Option("--max-tokens", help="Answer length cap.")]
TempOpt = Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")]
IdleOpt = Annotated[
    float | None,
    typer.Option(
        "--idle-timeout", metavar="S", help="Seconds without a byte before a call is cut (120)."
    ),
]


def _fields(
    name: str | None,
    provider: str | None,
    model: str | None,
    description: str | None,
    cache: bool | None,
    ttl: int | None,
    max_size_kb: int | None,
    patterns: list[str] | None,
    max_tokens: int | None,
    temperature: float | None,
    idle_timeout: float | None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: value
        for key, value in {
            "name": name,
            "providerId": provider,
            "model": model,
            "description": description,
            "maxTokens": max_tokens,
            "temperature": temperature,
            "idleTimeout": idle_timeout,
        }.items()
        if value is not None
    }
    strategy = {
        key: value
        for key, value in {
            "enabled": cache,
            "ttlMinutes": ttl,
            "maxSizeKB": max_size_kb,
            "filePatterns": patterns,
        }.items()
        if value is not None
    }
    if strategy:
        data["cacheStrategy"] = strategy
    return data


@app.command("add")
def add(
    ctx: typer.Context,
    endpoint_id: Annotated[str, typer.Argument(help="Id, used as --model ID.")],
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    name: NameOpt = None,
    description: DescOpt = None,
    cache: CacheOpt = None,
    ttl: TtlOpt = None,
    max_size_kb: SizeOpt = None,
    patterns: PatternsOpt = None,
    max_tokens: MaxTokensOpt = None,
    temperature: TempOpt = None,
    idle_timeout: IdleOpt = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the default.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add an endpoint: ccw endpoint add my-gpt4o --provider ID --model gpt-4o."""
    from ccw.config import manage
    from ccw.errors import UsageError

    if not provider or not model:
        raise UsageError(
            "an endpoint needs --provider and --model",
            "e.g. ccw endpoint add my-gpt4o --provider openai-1a2b --model gpt-4o",
        )
    data = _fields(
        name,
        provider,
        model,
        description,
        cache,
        ttl,
        max_size_kb,
        patterns,
        max_tokens,
        temperature,
        idle_timeout,
    )
    data["id"] = endpoint_id
    config_store = store(ctx)
    endpoint = manage.add_endpoint(config_store, data)
    if default:
        manage.set_default_endpoint(config_store, endpoint.id)
    if as_json:
        print_json({"success": True, "endpoint": endpoint.to_json()})
    else:
        success(f'added endpoint {endpoint.id}: ccw cli -p "..." --model {endpoint.id}')


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List endpoints; the default one is marked."""
    from ccw.config.effective import effective_config

    config = effective_config(store(ctx).load())
    endpoints = [e.to_json() for e in config.endpoints]
    if as_json:
        print_json(
            {
                "endpoints": endpoints,
                "count": len(endpoints),
                "defaultEndpoint": config.default_endpoint,
            }
        )
        return
    rows = []
    for e in config.endpoints:
        strategy = e.cache_strategy
        cache = (
            f"{strategy.ttl_minutes} min, {strategy.max_size_kb} KB" if strategy.enabled else "off"
        )
        marker = "*" if e.id == config.default_endpoint else ""
        rows.append([marker, e.id, e.provider_id, e.model, cache, "yes" if e.enabled else "no"])
    table("Endpoints (* default)", ["", "id", "provider", "model", "cache", "enabled"], rows)


@app.command("show")
def show(ctx: typer.Context, endpoint_id: str, as_json: JsonOpt = False) -> None:
    """Show one endpoint."""
    from ccw.config.effective import find_endpoint

    data = find_endpoint(store(ctx).load(), endpoint_id).to_json()
    if as_json:
        print_json(data)
    else:
        table(None, ["field", "value"], [[k, str(v)] for k, v in data.items()])


@app.command("update")
def update(
    ctx: typer.Context,
    endpoint_id: str,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    name: NameOpt = None,
    description: DescOpt = None,
    cache: CacheOpt = None,
    ttl: TtlOpt = None,
    max_size_kb: SizeOpt = None,
    patterns: PatternsOpt = None,
    max_tokens: MaxTokensOpt = None,
    temperature: TempOpt = None,
    idle_timeout: IdleOpt = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable", help="On or off.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change fields; a partial cache strategy is merged with the stored one."""
    from ccw.config import manage
    from ccw.errors import UsageError

    data = _fields(
        name,
        provider,
        model,
        description,
        cache,
        ttl,
        max_size_kb,
        patterns,
        max_tokens,
        temperature,
        idle_timeout,
    )
    if enabled is not None:
        data["enabled"] = enabled
    if not data:
        raise UsageError("nothing to update", "pass at least one option, e.g. --model gpt-4o")
    endpoint = manage.update_endpoint(store(ctx), endpoint_id, data)
    if as_json:
        print_json({"success": True, "endpoint": endpoint.to_json()})
    else:
        success(f"updated endpoint {endpoint.id}")


@app.command("remove")
def remove(ctx: typer.Context, endpoint_id: str, as_json: JsonOpt = False) -> None:
    """Remove an endpoint; removing the default clears the default."""
    from ccw.config import manage

    manage.remove_endpoint(store(ctx), endpoint_id)
    if as_json:
        print_json({"success": True})
    else:
        success(f"removed endpoint {endpoint_id}")


@app.command("default")
def default(
    ctx: typer.Context,
    endpoint_id: Annotated[str | None, typer.Argument(help="Endpoint id; none shows it.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Clear the default.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show or set the endpoint used when --model is not given."""
    from ccw.config import manage

    config_store = store(ctx)
    if clear or endpoint_id:
        manage.set_default_endpoint(config_store, None if clear else endpoint_id)
    current = config_store.load().default_endpoint
    if as_json:
        print_json({"defaultEndpoint": current})
    else:
        typer.echo(current or "(none)")
