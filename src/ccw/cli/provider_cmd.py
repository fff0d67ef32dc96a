"""``ccw provider``: add, list, show, update, remove and test providers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ccw.cli import scope
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
from ccw.cli.scope import AllowLiteralOpt, GlobalOpt, ProjectOpt
from ccw.config.providers import KINDS

if TYPE_CHECKING:
    from ccw.config.layers import LayeredConfig
    from ccw.config.provenance import Provenance
    from ccw.config.store import ConfigStore

app = typer.Typer(help="Manage providers (credentials and API bases).", no_args_is_help=True)

TYPES_HELP = ", ".join(KINDS)


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
        help="Key or, better, a reference such as '${OPENAI_API_KEY}' (environment, then "
        "ccw keys). A literal key is refused in a file inside a git work tree.",
    ),
]
BaseOpt = Annotated[str | None, typer.Option("--api-base", help="API base URL.")]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", help="Request timeout (s).")]
RetriesOpt = Annotated[int | None, typer.Option("--max-retries", help="Retries on 429/5xx.")]
OrgOpt = Annotated[str | None, typer.Option("--organization", help="OpenAI organization.")]
VersionOpt = Annotated[str | None, typer.Option("--api-version", help="API version (azure).")]
HeadersOpt = Annotated[str | None, typer.Option("--headers", help="Custom headers as JSON.")]


def _warn_if_literal(api_key: str | None, path: object, provider_type: str | None) -> None:
    """A literal key, or a ``${VAR:-literal}`` fallback, puts the key in the file."""
    from ccw.config.providers import kind
    from ccw.config.secrets import holds_literal_secret

    if holds_literal_secret(api_key):
        from ccw.cli.common import warn

        name = (kind(provider_type).key_env if provider_type else None) or "MY_API_KEY"
        warn(
            f"the key is stored literally in {path}; prefer: ccw keys set {name}, "
            f"then --api-key '${{{name}}}'"
        )


def _written(layered: LayeredConfig, target: ConfigStore) -> dict[str, str]:
    return {"scope": layered.scope_of(target), "file": str(target.path)}


def _warn_if_hidden(layered: LayeredConfig, target: ConfigStore, provider_id: str) -> None:
    """The entry just written is overridden here by a later file: say so."""
    from ccw.config.provenance import provenance_of

    provenance = provenance_of(layered.load())
    source = provenance.provider_source(provider_id) if provenance else None
    written = layered.scope_of(target)
    if source is not None and source != written:
        from ccw.cli.common import warn

        warn(f"the {source} config also defines provider {provider_id}; that one is used here")


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
    global_: GlobalOpt = False,
    project: ProjectOpt = False,
    allow_literal_key: AllowLiteralOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a provider. Prefer --api-key '${VAR}' (ccw keys set VAR): no secret in the file."""
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
    layered = store(ctx)
    target = layered.store_for(scope.chosen(global_, project))
    provider = manage.add_provider(
        target, data, others=layered.others(target), allow_literal_key=allow_literal_key
    )
    _warn_if_literal(api_key, target.path, provider_type)
    _warn_if_hidden(layered, target, provider.id)
    written = _written(layered, target)
    if as_json:
        print_json({"success": True, "provider": manage.masked_provider(provider), **written})
    else:
        success(f"added provider {provider.id} to the {written['scope']} config ({target.path})")


def _source_label(provenance: Provenance | None, kind_name: str, entry_id: str) -> str:
    """``project``, ``user``, ``built-in``; ``project (over user)`` for an override."""
    if provenance is None:
        return "-"
    if kind_name == "provider":
        source = provenance.provider_source(entry_id)
    else:
        source = provenance.endpoint_source(entry_id)
    hidden = provenance.overridden.get((kind_name, entry_id))
    return f"{source} (over {hidden})" if hidden else source


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List providers (keys masked) and the config file each one comes from."""
    from ccw.config import manage
    from ccw.config.effective import effective_config
    from ccw.config.provenance import provenance_of

    merged = store(ctx).load()
    provenance = provenance_of(merged)
    config = effective_config(merged)
    providers = [manage.masked_provider(p) for p in config.providers]
    sources = {p.id: _source_label(provenance, "provider", p.id) for p in config.providers}
    if as_json:
        print_json({"providers": providers, "count": len(providers), "sources": sources})
        return
    rows = [
        [
            p["id"],
            p.get("name", ""),
            p["type"],
            str(p.get("apiKey") or "-"),
            str(p.get("apiBase") or "-"),
            "yes" if p.get("enabled", True) else "no",
            sources[p["id"]],
        ]
        for p in providers
    ]
    table("Providers", ["id", "name", "type", "key", "api base", "enabled", "source"], rows)


@app.command("show")
def show(ctx: typer.Context, provider_id: str, as_json: JsonOpt = False) -> None:
    """Show one provider (key masked) and where it is defined."""
    from ccw.config import manage
    from ccw.config.effective import find_provider
    from ccw.config.provenance import provenance_of

    merged = store(ctx).load()
    provider = find_provider(merged, provider_id)
    shown = manage.masked_provider(provider)
    if as_json:
        print_json(shown)
        return
    from ccw.cli.endpoint_cmd import field_rows

    source = _source_label(provenance_of(merged), "provider", provider.id)
    table(None, ["field", "value"], [*field_rows(shown), ["source", source]])


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
    global_: GlobalOpt = False,
    project: ProjectOpt = False,
    allow_literal_key: AllowLiteralOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Change fields of a provider where it is defined; id and createdAt never change.

    With --project (or --global) a provider defined only in the other file is copied there
    first, so the change overrides it for this project (or everywhere).
    """
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
    layered = store(ctx)
    target = layered.store_holding("provider", provider_id, scope.chosen(global_, project))
    provider = manage.update_provider(
        target,
        provider_id,
        data,
        others=layered.others(target),
        allow_literal_key=allow_literal_key,
    )
    _warn_if_literal(api_key, target.path, provider.type)
    _warn_if_hidden(layered, target, provider.id)
    written = _written(layered, target)
    if as_json:
        print_json({"success": True, "provider": manage.masked_provider(provider), **written})
    else:
        success(f"updated provider {provider.id} in the {written['scope']} config")


@app.command("remove")
def remove(
    ctx: typer.Context,
    provider_id: str,
    global_: GlobalOpt = False,
    project: ProjectOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove a provider and the endpoints of the same file that use it."""
    from ccw.config import manage

    layered = store(ctx)
    target = layered.store_holding("provider", provider_id, scope.chosen(global_, project))
    gone = manage.remove_provider(target, provider_id, others=layered.others(target))
    written = _written(layered, target)
    _warn_if_orphaned(layered, provider_id)
    if as_json:
        print_json({"success": True, "removedEndpoints": gone, **written})
        return
    extra = f" and its endpoints: {', '.join(gone)}" if gone else ""
    success(f"removed provider {provider_id} from the {written['scope']} config{extra}")


def _warn_if_orphaned(layered: LayeredConfig, provider_id: str) -> None:
    """Endpoints of the other file that used the provider now name none (only the endpoints
    of the file it was removed from go with it)."""
    from ccw.config.effective import effective_config

    config = effective_config(layered.load())
    if config.provider(provider_id) is not None:
        return  # another file still defines it
    left = [e.id for e in config.endpoints if e.provider_id == provider_id]
    if left:
        from ccw.cli.common import warn

        warn(
            f"endpoints {', '.join(left)} still use provider {provider_id}; remove them "
            "(ccw endpoint remove ID) or add the provider again"
        )


@app.command("test")
def test(
    ctx: typer.Context,
    provider_id: str,
    key_id: Annotated[
        str | None, typer.Option("--key", help="Test only this apiKeys[] id.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make the cheapest real request the provider allows, once per enabled key."""
    from ccw.exec.probe import probe_provider

    probe = probe_provider(store(ctx).load(), provider_id, key_id=key_id)
    if as_json:
        print_json(probe.to_dict())
    else:
        several = len(probe.keys) > 1 or probe.keys[0].key_id != "default"
        for item in probe.keys:
            result = item.result
            name = f"{provider_id} key {item.key_id}" if several else provider_id
            latency = f"({result.latency_ms} ms)"
            if result.success:
                stdout_console().print(f"[green]✓[/green] {escape(name)}: reachable {latency}")
            else:
                detail = escape(f"{name}: {result.error_kind}: {result.error} {latency}")
                stdout_console().print(f"[red]✗[/red] {detail}")
    if not probe.success:
        raise typer.Exit(probe.exit_code)


@app.command("health")
def health(
    ctx: typer.Context,
    provider_id: Annotated[str | None, typer.Argument(help="One provider (default: all).")] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Test the keys now and record the outcome.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show each key's recorded health (healthy, unhealthy, cooling down); --check tests now."""
    from ccw.exec import health as key_health

    config_store = store(ctx)
    config = config_store.load()
    if check:
        from ccw.config.effective import effective_config

        ids = [provider_id] if provider_id else [p.id for p in effective_config(config).providers]
        reports = [key_health.check_provider(config, config_store.path, i) for i in ids]
    else:
        reports = key_health.report(config, config_store.path, provider_id)
    if as_json:
        print_json({"providers": reports, "count": len(reports)})
        return
    rows = [
        [
            r["providerId"],
            k["keyId"],
            k["healthStatus"] + ("" if k["enabled"] else " (disabled)"),
            str(k["lastLatencyMs"] if k["lastLatencyMs"] is not None else "-"),
            k["lastHealthCheck"] or "-",
            k["cooldownUntil"] or "-",
            k["lastError"] or "",
        ]
        for r in reports
        for k in r["keys"]
    ]
    table(
        "Key health",
        ["provider", "key", "status", "latency ms", "last check", "cooling until", "last error"],
        rows,
    )
