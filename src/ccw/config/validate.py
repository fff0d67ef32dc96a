"""Checks beyond the schema: references between endpoints, providers and the default."""

from __future__ import annotations

from ccw.config.effective import LOCAL_ID
from ccw.config.provenance import provenance_of
from ccw.config.schema import Config


def _file_of(config: Config, kind: str, entry_id: str) -> str:
    """``/path/file.json: `` for an entry of a merged config (``default``: the last file
    read), when known."""
    provenance = provenance_of(config)
    if provenance is None:
        return ""
    if kind == "default":
        path = provenance.files[-1].path if provenance.files else None
    else:
        path = provenance.file_of(kind, entry_id)
    return f"{path}: " if path else ""


def check(config: Config) -> list[str]:
    """Problems a valid-JSON, valid-schema file (or the merge of a user's and a project's
    files) can still have, one readable line each, naming the file when known."""
    problems: list[str] = []
    seen: set[str] = set()
    for provider in config.providers:
        if provider.id in seen:
            where = _file_of(config, "provider", provider.id)
            problems.append(f"{where}providers: duplicate id {provider.id}")
        seen.add(provider.id)
    seen = set()
    provider_ids = {p.id for p in config.providers}
    for endpoint in config.endpoints:
        if endpoint.id in seen:
            where = _file_of(config, "endpoint", endpoint.id)
            problems.append(f"{where}endpoints: duplicate id {endpoint.id}")
        seen.add(endpoint.id)
        if endpoint.provider_id not in provider_ids:
            where = _file_of(config, "endpoint", endpoint.id)
            problems.append(
                f"{where}endpoints.{endpoint.id}.providerId: no provider {endpoint.provider_id}"
            )
    if config.default_endpoint and config.default_endpoint not in seen | {LOCAL_ID}:
        where = _file_of(config, "default", "")
        problems.append(f"{where}defaultEndpoint: no endpoint {config.default_endpoint}")
    problems += _fallback_problems(config, seen)
    problems += _pool_problems(config, seen, provider_ids)
    return problems


def _fallback_problems(config: Config, endpoint_ids: set[str]) -> list[str]:
    """A fallback must name another endpoint (or the built-in local one)."""
    problems: list[str] = []
    for endpoint in config.endpoints:
        where = _file_of(config, "endpoint", endpoint.id)
        for target in endpoint.fallbacks or ():
            if target == endpoint.id:
                problems.append(f"{where}endpoints.{endpoint.id}.fallbacks: names itself")
            elif target not in endpoint_ids | {LOCAL_ID}:
                problems.append(f"{where}endpoints.{endpoint.id}.fallbacks: no endpoint {target}")
    return problems


def _pool_problems(config: Config, endpoint_ids: set[str], provider_ids: set[str]) -> list[str]:
    """A pool id is a ``--model`` name beside the endpoints: it must not shadow one, and the
    providers it lists or excludes must exist."""
    problems: list[str] = []
    where = _file_of(config, "default", "")
    seen: set[str] = set()
    for pool in config.model_pools or ():
        if pool.id in seen:
            problems.append(f"{where}modelPools: duplicate id {pool.id}")
        seen.add(pool.id)
        if pool.id in endpoint_ids | {LOCAL_ID}:
            problems.append(f"{where}modelPools.{pool.id}: an endpoint has the same id")
        listed = [m.provider_id for m in pool.providers or ()]
        for provider_id in [*listed, *(pool.excluded_provider_ids or ())]:
            if provider_id not in provider_ids:
                problems.append(f"{where}modelPools.{pool.id}: no provider {provider_id}")
    return problems
