"""Checks beyond the schema: references between endpoints, providers and the default."""

from __future__ import annotations

from ccw.config.effective import LOCAL_ID
from ccw.config.schema import Config


def check(config: Config) -> list[str]:
    """Problems a valid-JSON, valid-schema file can still have, one readable line each."""
    problems: list[str] = []
    seen: set[str] = set()
    for provider in config.providers:
        if provider.id in seen:
            problems.append(f"providers: duplicate id {provider.id}")
        seen.add(provider.id)
    seen = set()
    provider_ids = {p.id for p in config.providers}
    for endpoint in config.endpoints:
        if endpoint.id in seen:
            problems.append(f"endpoints: duplicate id {endpoint.id}")
        seen.add(endpoint.id)
        if endpoint.provider_id not in provider_ids:
            problems.append(
                f"endpoints.{endpoint.id}.providerId: no provider {endpoint.provider_id}"
            )
    if config.default_endpoint and config.default_endpoint not in seen | {LOCAL_ID}:
        problems.append(f"defaultEndpoint: no endpoint {config.default_endpoint}")
    return problems
