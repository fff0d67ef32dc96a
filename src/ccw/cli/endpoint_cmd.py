"""``ccw endpoint``: the ids ``--model`` takes: a provider, a model and a cache strategy."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ccw.cli import scope
from ccw.cli.common import print_json, store, success, table
from ccw.cli.options import JsonOpt
from ccw.cli.scope import GlobalOpt, ProjectOpt

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


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_cell(item) for item in value) or "(none)"
    if value is None:
        return "-"
    return str(value)


def field_rows(data: dict[str, Any], prefix: str = "") -> list[list[str]]:
    """One ``field  value`` row per leaf, nested objects as ``cacheStrategy.ttlMinutes``:
    readable, and no Python ``dict`` repr."""
    rows: list[list[str]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            rows += field_rows(value, f"{prefix}{key}.") or [[f"{prefix}{key}", "(none)"]]
        elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    rows += field_rows(item, f"{prefix}{key}[{index}].")
                else:
                    rows.append([f"{prefix}{key}[{index}]", _cell(item)])
        else:
            rows.append([f"{prefix}{key}", _cell(value)])
    return rows


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
    endpoint_id: Annotated[str | None, typer.Argument(help="Id, used as --model ID.")] = None,
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
    discover: Annotated[
        bool,
        typer.Option(
            "--discover",
            help="List a LiteLLM proxy provider's models (context window, prompt caching); "
            "with an id and --model, check the proxy serves the model, then add it.",
        ),
    ] = False,
    global_: GlobalOpt = False,
    project: ProjectOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add an endpoint: ccw endpoint add my-gpt4o --provider ID --model gpt-4o.

    Its provider may be defined in the other file (a project endpoint on a user provider).
    """
    from ccw.config import manage
    from ccw.errors import UsageError

    if discover:
        from ccw.cli.proxy_models import discover as discover_models

        listing = not (endpoint_id and model)
        found = discover_models(
            store(ctx).load(), provider, model, listing=listing, as_json=as_json
        )
        if listing:
            return
        provider = found
    if not endpoint_id:
        raise UsageError(
            "an endpoint needs an id",
            "e.g. ccw endpoint add my-gpt4o --provider openai-1a2b --model gpt-4o",
        )
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
    layered = store(ctx)
    target = layered.store_for(scope.chosen(global_, project))
    endpoint = manage.add_endpoint(target, data, others=layered.others(target))
    if default:
        manage.set_default_endpoint(target, endpoint.id, others=layered.others(target))
    where = layered.scope_of(target)
    if as_json:
        print_json(
            {
                "success": True,
                "endpoint": endpoint.to_json(),
                "scope": where,
                "file": str(target.path),
            }
        )
    else:
        success(
            f"added endpoint {endpoint.id} to the {where} config: "
            f'ccw cli -p "..." --model {endpoint.id}'
        )


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List endpoints, the file each comes from; the default one is marked."""
    from ccw.cli.provider_cmd import _source_label
    from ccw.config.effective import effective_config
    from ccw.config.provenance import provenance_of

    merged = store(ctx).load()
    provenance = provenance_of(merged)
    config = effective_config(merged)
    sources = {e.id: _source_label(provenance, "endpoint", e.id) for e in config.endpoints}
    endpoints = [e.to_json() for e in config.endpoints]
    if as_json:
        print_json(
            {
                "endpoints": endpoints,
                "count": len(endpoints),
                "defaultEndpoint": config.default_endpoint,
                "sources": sources,
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
        enabled = "yes" if e.enabled else "no"
        rows.append([marker, e.id, e.provider_id, e.model, cache, enabled, sources[e.id]])
    columns = ["", "id", "provider", "model", "cache", "enabled", "source"]
    table("Endpoints (* default)", columns, rows)


@app.command("show")
def show(ctx: typer.Context, endpoint_id: str, as_json: JsonOpt = False) -> None:
    """Show one endpoint and where it is defined."""
    from ccw.cli.provider_cmd import _source_label
    from ccw.config.effective import find_endpoint
    from ccw.config.provenance import provenance_of

    merged = store(ctx).load()
    data = find_endpoint(merged, endpoint_id).to_json()
    if as_json:
        print_json(data)
    else:
        source = _source_label(provenance_of(merged), "endpoint", endpoint_id)
        table(None, ["field", "value"], [*field_rows(data), ["source", source]])


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
    global_: GlobalOpt = False,
    project: ProjectOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Change fields where the endpoint is defined; a partial cache strategy is merged.

    With --project (or --global) an endpoint defined only in the other file is copied there
    first, so the change overrides it for this project (or everywhere).
    """
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
    layered = store(ctx)
    target = layered.store_holding("endpoint", endpoint_id, scope.chosen(global_, project))
    endpoint = manage.update_endpoint(target, endpoint_id, data, others=layered.others(target))
    where = layered.scope_of(target)
    if as_json:
        print_json(
            {
                "success": True,
                "endpoint": endpoint.to_json(),
                "scope": where,
                "file": str(target.path),
            }
        )
    else:
        success(f"updated endpoint {endpoint.id} in the {where} config")


@app.command("remove")
def remove(
    ctx: typer.Context,
    endpoint_id: str,
    global_: GlobalOpt = False,
    project: ProjectOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove an endpoint where it is defined; removing the default clears the default."""
    from ccw.config import manage

    layered = store(ctx)
    target = layered.store_holding("endpoint", endpoint_id, scope.chosen(global_, project))
    manage.remove_endpoint(target, endpoint_id, others=layered.others(target))
    where = layered.scope_of(target)
    if as_json:
        print_json({"success": True, "scope": where, "file": str(target.path)})
    else:
        success(f"removed endpoint {endpoint_id} from the {where} config")


@app.command("default")
def default(
    ctx: typer.Context,
    endpoint_id: Annotated[str | None, typer.Argument(help="Endpoint id; none shows it.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Clear the default.")] = False,
    global_: GlobalOpt = False,
    project: ProjectOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Show or set the endpoint used when --model is not given (the project's wins)."""
    from ccw.config import manage

    layered = store(ctx)
    if clear or endpoint_id:
        target = layered.store_for(scope.chosen(global_, project))
        others = layered.others(target)
        manage.set_default_endpoint(target, None if clear else endpoint_id, others=others)
    current = layered.load().default_endpoint
    if as_json:
        print_json({"defaultEndpoint": current})
    else:
        typer.echo(current or "(none)")
