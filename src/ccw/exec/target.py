"""From an endpoint or pool id to everything one LiteLLM call needs, credentials resolved in
memory: one target, and its deployments when the call goes through LiteLLM's Router."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccw.config.effective import LOCAL_ID, effective_config, find_endpoint, find_provider
from ccw.config.providers import ProviderKind, kind
from ccw.config.schema import (
    Config,
    Endpoint,
    HealthCheck,
    ModelCapabilities,
    ModelPool,
    Provider,
)
from ccw.config.secrets import holds_literal_secret
from ccw.errors import CcwError, ExitCode, UsageError
from ccw.exec.deployments import NO_KEY, Deployment, for_pool, for_provider
from ccw.exec.redact import credential_set

__all__ = ["NO_KEY", "CallTarget", "DisabledError", "resolve_target", "warn_literal_key_once"]

# The original tool's strategy names, as LiteLLM's Router names them (weights are passed for
# the weighted ones only; LiteLLM's shuffle honours a deployment's ``weight``).
ROUTER_STRATEGY = {
    "simple-shuffle": "simple-shuffle",
    "weighted": "simple-shuffle",
    "latency-based": "latency-based-routing",
    "cost-based": "simple-shuffle",  # over the cheapest deployments (``routing.narrow``)
    "least-busy": "least-busy",
    "round_robin": "simple-shuffle",
    "weighted_random": "simple-shuffle",
    "latency_aware": "latency-based-routing",
}
WEIGHTED = frozenset({"weighted", "weighted_random"})


class DisabledError(CcwError):
    """The endpoint or its provider is switched off in the config."""

    kind = "disabled"
    exit_code = ExitCode.CONFIG


@dataclass
class CallTarget:
    """One resolved call target. ``api_key`` is the real key: never print or store it.

    ``deployments`` is empty for a plain call on one key; otherwise (several keys, a pool, or
    rpm/tpm limits) the call goes through LiteLLM's Router over them.
    """

    endpoint: Endpoint
    provider: Provider
    model: str
    api_key: str = field(repr=False)
    api_base: str | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    timeout: float | None = None
    max_retries: int = 2
    organization: str | None = None
    api_version: str | None = None
    literal_key: bool = False
    deployments: tuple[Deployment, ...] = ()
    strategy: str = "simple-shuffle"  # the config's name (``weighted``, ``latency_aware``...)
    health: HealthCheck = field(default_factory=HealthCheck)
    pool_id: str | None = None
    proxy: str | None = None
    warnings: tuple[str, ...] = ()
    # The effective config the target came from: where its ``fallbacks`` are looked up.
    config: Config | None = field(default=None, repr=False, compare=False)

    @property
    def provider_type(self) -> str:
        return self.provider.type

    @property
    def provider_kind(self) -> ProviderKind:
        """The registry entry of the provider's type: prompt caching, pricing, embedding."""
        return kind(self.provider.type)

    @property
    def routed(self) -> bool:
        return bool(self.deployments)

    @property
    def router_strategy(self) -> str:
        return ROUTER_STRATEGY.get(self.strategy, "simple-shuffle")

    @property
    def weighted(self) -> bool:
        return self.strategy in WEIGHTED

    def proxies(self) -> dict[str, str]:
        """API base -> proxy URL of every deployment whose provider sets
        ``advancedSettings.proxy``."""
        base = self.api_base or self.provider_kind.default_base
        found = {base: self.proxy} if base and self.proxy else {}
        for d in self.deployments:
            base = d.conn.api_base or d.provider_kind_base()
            if base and d.conn.proxy:
                found[base] = d.conn.proxy
        return found

    def litellm_params(self) -> dict[str, Any]:
        """LiteLLM's connection arguments for this target's one key (a plain call)."""
        from ccw.exec.connection import litellm_params

        return litellm_params(
            self.model,
            self.api_key,
            api_base=self.api_base,
            headers=self.headers,
            organization=self.organization,
            api_version=self.api_version,
        )

    def secrets(self) -> tuple[str, ...]:
        """Every credential of the call: each deployment's key and headers, each apiKeys[]
        entry of every provider involved, longest first. No message may show one."""
        found = set(credential_set(self.api_key, self.provider, self.headers))
        for deployment in self.deployments:
            found.update(
                credential_set(deployment.api_key, deployment.provider, deployment.conn.headers)
            )
        return tuple(sorted(found, key=len, reverse=True))


def choose_endpoint(config: Config, endpoint_id: str | None) -> Endpoint:
    """``--model`` if given, else the default endpoint, else the built-in local one."""
    wanted = endpoint_id or config.default_endpoint
    if wanted is None:
        own = [e for e in config.endpoints if e.id != LOCAL_ID]
        if own:
            raise UsageError(
                "no --model given and no default endpoint is set",
                f"pass --model ID, or set one: ccw endpoint default {own[0].id}",
            )
        wanted = LOCAL_ID
    return find_endpoint(config, wanted)


def resolve_target(config: Config, endpoint_id: str | None) -> CallTarget:
    """Check the endpoint (or model pool) and its provider and resolve the keys; errors name
    the fix."""
    config = effective_config(config)
    if endpoint_id and config.endpoint(endpoint_id) is None:
        pool = config.pool(endpoint_id)
        if pool is not None:
            return pool_target(config, pool)
    endpoint = choose_endpoint(config, endpoint_id)
    return endpoint_target(config, endpoint)


def capabilities(target: CallTarget) -> ModelCapabilities | None:
    """The endpoint model's ``llmModels[].capabilities``, if the provider lists it."""
    definition = target.provider.model_definition(target.endpoint.model)
    return definition.capabilities if definition else None


def context_window(target: CallTarget) -> int | None:
    """The model's input window: its ``llmModels`` capability, else LiteLLM's data."""
    found = capabilities(target)
    if found is not None and found.context_window:
        return found.context_window
    from ccw.exec.pricing import context_window as known_window

    return known_window(target.model)


def endpoint_target(config: Config, endpoint: Endpoint, model_kind: str = "llm") -> CallTarget:
    """The target of one configured endpoint (``model_kind``: which of the provider's model
    lists holds the endpoint model's own settings)."""
    if not endpoint.enabled:
        raise DisabledError(
            f"endpoint {endpoint.id} is disabled", f"ccw endpoint update {endpoint.id} --enable"
        )
    provider = find_provider(config, endpoint.provider_id)
    if not provider.enabled:
        raise DisabledError(
            f"provider {provider.id} is disabled", f"ccw provider update {provider.id} --enable"
        )
    deployments = for_provider(
        provider, endpoint.model, allowed=config.allowed_env, model_kind=model_kind
    )
    first = deployments[0]
    conn = first.conn
    routed = provider.multi_key or conn.rpm is not None or conn.tpm is not None
    strategy = provider.routing_strategy or (
        "weighted" if any(d.weight for d in deployments) else "simple-shuffle"
    )
    return CallTarget(
        endpoint=endpoint,
        provider=provider,
        model=first.model,
        api_key=first.api_key,
        api_base=conn.api_base,
        headers=conn.headers,
        timeout=conn.timeout,
        max_retries=conn.max_retries,
        organization=conn.organization,
        api_version=conn.api_version,
        literal_key=holds_literal_secret(provider.api_key)
        or any(holds_literal_secret(k.key) for k in provider.enabled_keys()),
        deployments=tuple(deployments) if routed else (),
        strategy=strategy,
        health=provider.health_check or HealthCheck(),
        proxy=conn.proxy,
        warnings=conn.warnings,
        config=config,
    )


def pool_target(config: Config, pool: ModelPool, model_kind: str = "llm") -> CallTarget:
    """The target of a model pool (``--model POOL_ID``): every member's keys, routed."""
    if not pool.enabled:
        raise DisabledError(
            f"model pool {pool.id} is disabled", f"set modelPools[{pool.id}].enabled to true"
        )
    if pool.model_type != model_kind:
        use = {"embedding": f"ccw embed --model {pool.id} ...", "llm": f"ccw cli --model {pool.id}"}
        raise UsageError(
            f"model pool {pool.id} holds {pool.model_type} models, not {model_kind} models",
            use.get(pool.model_type),
        )
    deployments = for_pool(config, pool, allowed=config.allowed_env)
    first = deployments[0]
    endpoint = Endpoint(
        id=pool.id,
        name=pool.name or "",
        provider_id=first.provider.id,
        model=pool.target_model,
        description=pool.description,
    )
    threshold = (first.provider.health_check or HealthCheck()).failure_threshold
    health = HealthCheck(cooldown_seconds=pool.default_cooldown, failure_threshold=threshold)
    return CallTarget(
        endpoint=endpoint,
        provider=first.provider,
        model=first.model,
        api_key=first.api_key,
        api_base=first.conn.api_base,
        headers=first.conn.headers,
        timeout=first.conn.timeout,
        max_retries=first.conn.max_retries,
        deployments=tuple(deployments),
        strategy=pool.strategy,
        health=health,
        pool_id=pool.id,
        warnings=tuple(dict.fromkeys(w for d in deployments for w in d.conn.warnings)),
        config=config,
    )


def warn_literal_key_once(target: CallTarget, config_path: Path, state_dir: Path) -> bool:
    """True the first time a provider with a literal key is used from this config file."""
    if not target.literal_key:
        return False
    marker = hashlib.sha256(f"{config_path}::{target.provider.id}".encode()).hexdigest()[:16]
    path = state_dir / "literal-key-warnings.json"
    seen: list[str] = []
    with contextlib.suppress(OSError, ValueError):
        seen = list(json.loads(path.read_text()))
    if marker in seen:
        return False
    with contextlib.suppress(OSError):
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([*seen, marker]))
    return True
