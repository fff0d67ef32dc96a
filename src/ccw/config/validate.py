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
    return problems
