"""Deployments: one (provider, key, model) a call may be sent to, as LiteLLM's Router sees it.

A provider with enabled ``apiKeys`` has one deployment per key; a model pool has one per key
of each member provider. A deployment's ``id`` (``provider/key``) is what results, history,
health state and messages show: never the key itself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from ccw.config.providers import kind, resolve_key
from ccw.config.schema import Config, ModelDefinition, ModelPool, PoolMember, Provider
from ccw.config.secrets import MissingKeyError, resolve
from ccw.errors import UsageError
from ccw.exec.connection import Connection, connection

DEFAULT_KEY_ID = "default"  # the provider's single ``apiKey`` as a deployment
NO_KEY = "no-key"  # OpenAI-compatible servers that need no key still need a non-empty one


@dataclass(frozen=True)
class Deployment:
    """One routable target. ``api_key`` is the real key: never print or store it."""

    provider: Provider
    key_id: str
    model: str  # LiteLLM's model string, e.g. ``openai/gpt-4o``
    api_key: str = field(repr=False)
    conn: Connection
    weight: float | None = None
    max_concurrent: int | None = None

    @property
    def id(self) -> str:
        return f"{self.provider.id}/{self.key_id}"

    def provider_kind_base(self) -> str | None:
        """Where requests go when the provider sets no apiBase: its type's default."""
        return kind(self.provider.type).default_base


def provider_keys(
    provider: Provider, *, only: Collection[str] | None = None
) -> list[tuple[str, str]]:
    """``(key id, resolved key)`` of every enabled key a call may use (``only``: those ids).

    A provider without ``apiKeys`` has its one key, ``default``. An entry whose variable is
    unset is left out; if that leaves none, the error names the first missing variable.
    """
    entries = provider.enabled_keys()
    if not entries:
        return [(DEFAULT_KEY_ID, resolve_key(provider) or NO_KEY)]
    found: list[tuple[str, str]] = []
    first_error: MissingKeyError | None = None
    for entry in entries:
        if only is not None and entry.id not in only:
            continue
        try:
            found.append(
                (entry.id, resolve(entry.key, what=f"provider {provider.id} key {entry.id}"))
            )
        except MissingKeyError as exc:
            first_error = first_error or exc
    if not found:
        if first_error is not None:
            raise first_error
        raise UsageError(
            f"provider {provider.id} has no enabled key named {', '.join(sorted(only or ()))}",
            f"ccw provider show {provider.id}",
        )
    return found


def for_provider(
    provider: Provider,
    model: str,
    *,
    allowed: Collection[str] = frozenset(),
    only: Collection[str] | None = None,
    model_kind: str = "llm",
) -> list[Deployment]:
    """One deployment per enabled key of ``provider`` for ``model``."""
    definition = provider.model_definition(model, model_kind)
    conn = connection(provider, definition, allowed=allowed)
    weights = {entry.id: entry.weight for entry in provider.api_keys or ()}
    litellm_model = kind(provider.type).litellm_model(model)
    return [
        Deployment(provider, key_id, litellm_model, key, conn, weight=weights.get(key_id))
        for key_id, key in provider_keys(provider, only=only)
    ]


def pool_members(config: Config, pool: ModelPool) -> list[tuple[Provider, PoolMember | None, str]]:
    """``(provider, explicit member or None, provider's model name)`` of every provider a pool
    uses: its ``providers`` list, and with ``autoDiscover`` every enabled provider whose model
    list (of the pool's ``modelType``) names the pool's ``targetModel``."""
    excluded = set(pool.excluded_provider_ids or ())
    chosen: list[tuple[Provider, PoolMember | None, str]] = []
    seen: set[str] = set()
    for member in pool.providers or ():
        provider = config.provider(member.provider_id)
        if provider is None:
            raise UsageError(
                f"pool {pool.id} names provider {member.provider_id}, which does not exist",
                f"remove it from modelPools[{pool.id}].providers or add the provider",
            )
        if member.enabled and provider.enabled and provider.id not in excluded:
            chosen.append((provider, member, member.model_id or pool.target_model))
            seen.add(provider.id)
    if pool.auto_discover:
        for provider in config.providers:
            if provider.id in seen or provider.id in excluded or not provider.enabled:
                continue
            definition = _offered(provider.models_of(pool.model_type), pool.target_model)
            if definition is not None:
                chosen.append((provider, None, definition.id))
    return chosen


def _offered(models: Iterable[ModelDefinition], target: str) -> ModelDefinition | None:
    return next((m for m in models if m.enabled and target in m.names()), None)


def for_pool(
    config: Config, pool: ModelPool, *, allowed: Collection[str] = frozenset()
) -> list[Deployment]:
    """Every deployment of a pool; a member whose keys are all missing is left out, and a
    pool left with none is an error that names the first missing key."""
    deployments: list[Deployment] = []
    first_error: MissingKeyError | None = None
    for provider, member, model in pool_members(config, pool):
        only = None
        if member is not None and not member.use_all_keys:
            only = set(member.selected_key_ids or ())
        try:
            found = for_provider(
                provider, model, allowed=allowed, only=only, model_kind=pool.model_type
            )
        except MissingKeyError as exc:
            first_error = first_error or exc
            continue
        per_key = (member.max_concurrent_per_key if member else None) or (
            pool.default_max_concurrent_per_key
        )
        for deployment in found:
            weight = deployment.weight
            if member is not None and member.weight is not None:
                weight = member.weight * (weight or 1)
            deployments.append(
                Deployment(
                    deployment.provider,
                    deployment.key_id,
                    deployment.model,
                    deployment.api_key,
                    deployment.conn,
                    weight=weight,
                    max_concurrent=per_key,
                )
            )
    if not deployments:
        if first_error is not None:
            raise first_error
        raise UsageError(
            f"pool {pool.id} has no provider offering {pool.target_model}",
            f"add {pool.target_model} to a provider's {pool.model_type}Models list, or list "
            f"providers in modelPools[{pool.id}].providers",
        )
    return deployments
