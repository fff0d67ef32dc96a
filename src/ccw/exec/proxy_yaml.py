"""A LiteLLM proxy ``config.yaml`` from ccw's config, without one secret in it.

- ``model_list``: each enabled endpoint is a model group named by the endpoint id, and each
  enabled model pool one named by the pool id, with one deployment per enabled key (or pool
  member key), as ccw's own Router call has.
- Keys and header values are never written: ``${VAR}`` becomes ``os.environ/VAR``, and a
  literal in ccw's config becomes a variable name (``CCW_<PROVIDER>_<KEY>_API_KEY``) the
  user must export before starting the proxy; ``ProxyYaml.exports`` lists those.
- ``router_settings``: the routing strategy (the default endpoint's provider's, else the
  first one set) and the endpoints' fallbacks; for a shared proxy (``shared=True``, several
  replicas) also Redis, where the replicas keep rate limits and cooldowns, from variables.
- ``litellm_settings.include_cost_in_streaming_usage``: a stream's last chunk carries its
  cost, which ccw's ledger records as the proxy's price (``ccw.exec.proxy_client``).
- ``general_settings`` (shared only): the master key and Postgres (keys, spend) from
  variables.

The text is YAML written by hand (strings JSON-quoted, which YAML reads as they are), so
nothing beyond the standard library is needed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ccw.config.effective import effective_config
from ccw.config.providers import kind
from ccw.config.schema import AdvancedSettings, Config, ModelDefinition, Provider
from ccw.config.secrets import referenced_names
from ccw.errors import UsageError

ROUTING = {
    "simple-shuffle": "simple-shuffle",
    "weighted": "simple-shuffle",  # with a weight on each deployment
    "latency-based": "latency-based-routing",
    "cost-based": "cost-based-routing",
    "least-busy": "least-busy",
}
POOL_ROUTING = {
    "round_robin": "simple-shuffle",
    "weighted_random": "simple-shuffle",
    "latency_aware": "latency-based-routing",
}
NO_KEY = "no-key"  # a key-less server still needs a non-empty key


@dataclass
class ProxyYaml:
    """The proxy config as data and text, and the variables to export before starting it.
    ``exports`` maps each variable a literal in ccw's config became to where it came from."""

    data: dict[str, Any]
    exports: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        head = "# LiteLLM proxy config written by `ccw config export --litellm-proxy`.\n"
        if self.exports:
            head += "# Export these before starting the proxy (ccw's config holds literals):\n"
            head += "".join(f"#   {name}  ({where})\n" for name, where in self.exports.items())
        return head + dump(self.data)


def _env_name(*parts: str) -> str:
    joined = "_".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_").upper() for p in parts)
    return f"CCW_{joined}"


# A shared proxy's settings: each value a variable the deployment sets (``proxy_compose``).
SHARED_ROUTER = {
    "redis_host": "os.environ/REDIS_HOST",
    "redis_port": "os.environ/REDIS_PORT",
    "redis_password": "os.environ/REDIS_PASSWORD",
}
SHARED_GENERAL = {
    "master_key": "os.environ/LITELLM_MASTER_KEY",
    "database_url": "os.environ/DATABASE_URL",
}


class _Builder:
    def __init__(self, config: Config, shared: bool = False) -> None:
        self.config = effective_config(config)
        self.exports: dict[str, str] = {}
        self.shared = shared

    def secret(self, value: str | None, name: str, where: str) -> str:
        """``os.environ/VAR`` for a whole-value reference; any literal (or mixed value)
        becomes the variable ``name``, to be exported by the user."""
        refs = referenced_names(value)
        if value and len(refs) == 1 and value.strip() in (f"${{{refs[0]}}}", f"${refs[0]}"):
            return f"os.environ/{refs[0]}"
        self.exports[name] = where
        return f"os.environ/{name}"

    def keys(self, provider: Provider, only: set[str] | None) -> list[tuple[str, str, Any]]:
        """``(key id, api_key value, weight)`` per enabled key."""
        entries = [e for e in provider.api_keys or () if e.enabled]
        if entries:
            return [
                (
                    e.id,
                    self.secret(
                        e.key,
                        _env_name(provider.id, e.id, "API_KEY"),
                        f"provider {provider.id} key {e.id}",
                    ),
                    e.weight,
                )
                for e in entries
                if only is None or e.id in only
            ]
        spec = kind(provider.type)
        if provider.api_key:
            value = self.secret(
                provider.api_key,
                _env_name(provider.id, "API_KEY"),
                f"provider {provider.id} apiKey",
            )
        elif spec.key_env:
            value = f"os.environ/{spec.key_env}"
        else:
            value = NO_KEY
        return [("default", value, None)]

    def params(self, provider: Provider, model: str, definition: ModelDefinition | None) -> Any:
        spec = kind(provider.type)
        adv = provider.advanced_settings or AdvancedSettings()
        per_model = definition.endpoint_settings if definition else None
        params: dict[str, Any] = {"model": spec.litellm_model(model)}
        base = (per_model.base_url if per_model else None) or provider.api_base
        if base and referenced_names(base):
            base = self.secret(base, _env_name(provider.id, "API_BASE"), f"{provider.id} apiBase")
        if not base and spec.embedded:  # ccw's own local model server (``ccw local start``)
            base = spec.base_for(None, self.config.local.port)
        base = base or spec.call_base
        if spec.needs_base and not base:
            raise UsageError(
                f"provider {provider.id} ({provider.type}) needs an apiBase",
                f"ccw provider update {provider.id} --api-base https://host/v1",
            )
        if base:
            params["api_base"] = base
        headers = {**(adv.custom_headers or {}), **(provider.custom_headers or {})}
        if per_model and per_model.custom_headers:
            headers.update(per_model.custom_headers)
        if headers:
            params["extra_headers"] = {
                name: self.secret(
                    value,
                    _env_name(provider.id, "HEADER", name),
                    f"provider {provider.id} header {name}",
                )
                for name, value in headers.items()
            }
        for key, value in (
            ("timeout", (per_model.timeout if per_model else None) or provider.timeout),
            ("organization", provider.organization or adv.organization),
            ("api_version", provider.api_version or adv.api_version),
            ("rpm", adv.rpm),
            ("tpm", adv.tpm),
        ):
            if value is not None:
                params[key] = value
        return params

    def deployments(
        self,
        group: str,
        provider: Provider,
        model: str,
        model_kind: str = "llm",
        only: set[str] | None = None,
        scale: float | None = None,
    ) -> list[dict[str, Any]]:
        definition = provider.model_definition(model, model_kind)
        found = []
        for key_id, api_key, weight in self.keys(provider, only):
            params = {**self.params(provider, model, definition), "api_key": api_key}
            if weight is not None or scale is not None:
                params["weight"] = (weight or 1) * (scale or 1)
            entry: dict[str, Any] = {
                "model_name": group,
                "litellm_params": params,
                "model_info": {"id": f"{group}:{provider.id}/{key_id}"},
            }
            if model_kind != "llm":
                entry["model_info"]["mode"] = model_kind.replace("reranker", "rerank")
            found.append(entry)
        return found

    @staticmethod
    def _even_weights(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """LiteLLM reads a missing weight as 0 once any deployment has one: give it 1."""
        if any("weight" in d["litellm_params"] for d in group):
            for deployment in group:
                deployment["litellm_params"].setdefault("weight", 1)
        return group

    def build(self) -> ProxyYaml:
        from ccw.exec.deployments import pool_members  # the members a call would use

        config = self.config
        model_list: list[dict[str, Any]] = []
        groups: set[str] = set()
        for endpoint in config.endpoints:
            provider = config.provider(endpoint.provider_id)
            if not endpoint.enabled or provider is None or not provider.enabled:
                continue
            model_list += self._even_weights(
                self.deployments(endpoint.id, provider, endpoint.model)
            )
            groups.add(endpoint.id)
        for pool in config.model_pools or ():
            if not pool.enabled or pool.id in groups:
                continue
            group: list[dict[str, Any]] = []
            for provider, member, model in pool_members(config, pool):
                only = None
                if member is not None and not member.use_all_keys:
                    only = set(member.selected_key_ids or ())
                scale = member.weight if member is not None else None
                group += self.deployments(pool.id, provider, model, pool.model_type, only, scale)
            model_list += self._even_weights(group)
            groups.add(pool.id)
        data: dict[str, Any] = {"model_list": model_list, "router_settings": self.router(groups)}
        data["litellm_settings"] = {"include_cost_in_streaming_usage": True}
        if self.shared:
            data["router_settings"].update(SHARED_ROUTER)
            data["general_settings"] = dict(SHARED_GENERAL)
        return ProxyYaml(data, self.exports)

    def router(self, groups: set[str]) -> dict[str, Any]:
        config = self.config
        default = config.endpoint(config.default_endpoint) if config.default_endpoint else None
        first = config.provider(default.provider_id) if default else None
        chosen = first.routing_strategy if first else None
        chosen = chosen or next(
            (p.routing_strategy for p in config.providers if p.routing_strategy), None
        )
        strategy = ROUTING.get(chosen or "", "")
        if not strategy:
            pools = [p.strategy for p in config.model_pools or () if p.enabled]
            strategy = POOL_ROUTING.get(pools[0], "simple-shuffle") if pools else "simple-shuffle"
        settings: dict[str, Any] = {"routing_strategy": strategy, "num_retries": 2}
        cooldowns = [
            p.health_check.cooldown_seconds
            for p in config.providers
            if p.enabled and p.health_check is not None
        ]
        if cooldowns:  # how long a failing key is set aside (on every replica, with Redis)
            settings["cooldown_time"] = max(cooldowns)
        fallbacks = [
            {e.id: [f for f in e.fallbacks or () if f in groups]}
            for e in config.endpoints
            if e.id in groups and any(f in groups for f in e.fallbacks or ())
        ]
        if fallbacks:
            settings["fallbacks"] = fallbacks
        return settings


def proxy_config(config: Config, *, shared: bool = False) -> ProxyYaml:
    """The LiteLLM proxy config of ``config`` (see the module docstring); ``shared``: for
    replicas sharing Redis and Postgres."""
    return _Builder(config, shared).build()


ENV_REF = re.compile(r"^os\.environ/([A-Za-z_][A-Za-z0-9_]*)$")


def variables(data: Any) -> list[str]:
    """Every variable an ``os.environ/VAR`` value of the config refers to, once, in order."""
    found: dict[str, None] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            match = ENV_REF.match(value)
            if match:
                found[match.group(1)] = None

    walk(data)
    return list(found)


BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _key(name: str) -> str:
    return name if BARE_KEY.fullmatch(name) else json.dumps(name)


def dump(value: Any, indent: int = 0) -> str:
    """Block-style YAML of dicts, lists and JSON scalars."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        out = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                out.append(f"{pad}{_key(str(key))}:\n{dump(item, indent + 1)}")
            else:
                out.append(f"{pad}{_key(str(key))}: {_inline(item)}\n")
        return "".join(out)
    if isinstance(value, list):
        if not value:
            return pad + "[]\n"
        out = []
        for item in value:
            body = dump(item, indent + 1) if isinstance(item, dict | list) and item else None
            if body is None:
                out.append(f"{pad}- {_inline(item)}\n")
            else:
                out.append(f"{pad}- {body.lstrip()}")
        return "".join(out)
    return pad + _inline(value) + "\n"


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return json.dumps(value)
