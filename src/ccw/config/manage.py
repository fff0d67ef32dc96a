"""CRUD on providers and endpoints with the spec's semantics, shared by the CLI and the server."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ccw.config import env_policy, redact
from ccw.config.effective import (
    LOCAL_ID,
    effective_config,
    endpoint_not_found,
    provider_not_found,
)
from ccw.config.schema import CacheStrategy, Config, Endpoint, GlobalCacheSettings, Provider
from ccw.config.secrets import ENV_NAME, holds_literal_secret, mask, referenced_names
from ccw.config.store import ConfigStore, _describe_validation
from ccw.errors import ConflictError, UsageError
from ccw.paths import expand_dir, project_root_of

IMMUTABLE = ("id", "createdAt")
M = TypeVar("M", bound=BaseModel)


def now_iso() -> str:
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _write_out_builtins(config: Config) -> None:
    """Put the built-in local provider and endpoint into the config being edited: a command
    that changes one of them saves it to the file."""
    effective = effective_config(config)
    config.providers = list(effective.providers)
    config.endpoints = list(effective.endpoints)


def _validated(model: type[M], data: dict[str, Any], what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UsageError(f"invalid {what}: {_describe_validation(exc)}") from None


def masked_provider(provider: Provider) -> dict[str, Any]:
    """The provider as it may be shown anywhere: every key-like value masked, in known and
    kept unknown fields alike (``apiKeys[].key``, header maps at any depth); references stay
    readable, their literal parts are masked."""
    data: dict[str, Any] = redact.masked(provider.to_json())
    if provider.api_key:
        data["apiKey"] = mask(provider.api_key)
        data["apiKeySource"] = "literal" if holds_literal_secret(provider.api_key) else "env"
    return data


def masked_config(config: Config) -> dict[str, Any]:
    data: dict[str, Any] = redact.masked(config.to_json())
    data["providers"] = [masked_provider(p) for p in config.providers]
    return data


def _provider_or_builtin(config: Config, provider_id: str) -> Provider:
    """A provider of the file; the built-in ``local`` one is written out on first use."""
    found = config.provider(provider_id)
    if found is None and provider_id == LOCAL_ID:
        _write_out_builtins(config)
        found = config.provider(provider_id)
    if found is None:
        raise provider_not_found(config, provider_id)
    return found


def _endpoint_or_builtin(config: Config, endpoint_id: str) -> Endpoint:
    found = config.endpoint(endpoint_id)
    if found is None and endpoint_id == LOCAL_ID:
        _write_out_builtins(config)
        found = config.endpoint(endpoint_id)
    if found is None:
        raise endpoint_not_found(config, endpoint_id)
    return found


# ---- providers -----------------------------------------------------------------------------


def _new_provider_id(config: Config, provider_type: str) -> str:
    taken = {p.id for p in config.providers}
    while True:
        candidate = f"{provider_type}-{secrets.token_hex(4)}"
        if candidate not in taken:
            return candidate


def add_provider(store: ConfigStore, data: dict[str, Any], *, via_api: bool = False) -> Provider:
    """Add a provider. ``via_api`` applies the API's limits on environment references
    (``ccw.config.env_policy``)."""
    sent = dict(data)
    if via_api:
        env_policy.refuse_allow_list(sent)
    data = {key: redact.restore_field(key, value, None) for key, value in sent.items()}
    with store.edit() as config:
        if data.get("id"):
            if config.provider(str(data["id"])):
                raise ConflictError(f"provider id already exists: {data['id']}")
        else:
            kind_name = str(data.get("type") or "provider")
            data["id"] = _new_provider_id(config, kind_name)
        stamp = now_iso()
        data["createdAt"] = stamp
        data["updatedAt"] = stamp
        data.setdefault("name", data["id"])
        provider = _validated(Provider, data, "provider")
        if via_api:
            env_policy.check_api_provider(config, provider, None, sent)
        else:
            _allow_own_references(config, provider)
        config.providers.append(provider)
    return provider


def update_provider(
    store: ConfigStore, provider_id: str, updates: dict[str, Any], *, via_api: bool = False
) -> Provider:
    """Change fields of a provider. A masked value sent back keeps the stored one (list
    entries matched by ``id``); ``via_api`` applies ``ccw.config.env_policy``."""
    if via_api:
        env_policy.refuse_allow_list(updates)
    with store.edit() as config:
        current = _provider_or_builtin(config, provider_id)
        if "id" in updates and updates["id"] not in (None, provider_id):
            raise UsageError("a provider's id cannot be changed")
        merged = current.to_json()
        for key, value in updates.items():
            if key in IMMUTABLE:
                continue
            merged[key] = redact.restore_field(key, value, merged.get(key))
        merged["updatedAt"] = now_iso()
        provider = _validated(Provider, merged, "provider")
        if via_api:
            env_policy.check_api_provider(config, provider, current, updates)
        else:
            _allow_own_references(config, provider)
        config.providers[config.providers.index(current)] = provider
    return provider


def remove_provider(store: ConfigStore, provider_id: str) -> list[str]:
    """Delete a provider and its endpoints; returns the ids of the endpoints removed."""
    with store.edit() as config:
        current = _provider_or_builtin(config, provider_id)
        config.providers.remove(current)
        gone = [e.id for e in config.endpoints if e.provider_id == provider_id]
        config.endpoints = [e for e in config.endpoints if e.provider_id != provider_id]
        if config.default_endpoint in gone:
            config.default_endpoint = None
    return gone


# ---- endpoints -----------------------------------------------------------------------------


def _merge_cache_strategy(current: dict[str, Any], update: Any) -> Any:
    if isinstance(update, dict):
        merged = dict(current)
        merged.update(update)
        return merged
    return update


def add_endpoint(store: ConfigStore, data: dict[str, Any]) -> Endpoint:
    data = dict(data)
    if not data.get("id"):
        raise UsageError("an endpoint needs an id, e.g. my-gpt4o (it is what --model takes)")
    with store.edit() as config:
        if config.endpoint(str(data["id"])):
            raise ConflictError(f"endpoint id already exists: {data['id']}")
        _provider_or_builtin(config, str(data.get("providerId") or ""))
        if isinstance(data.get("cacheStrategy"), dict):
            data["cacheStrategy"] = _merge_cache_strategy(
                CacheStrategy().to_json(), data["cacheStrategy"]
            )
        stamp = now_iso()
        data["createdAt"] = stamp
        data["updatedAt"] = stamp
        data.setdefault("name", data["id"])
        endpoint = _validated(Endpoint, data, "endpoint")
        config.endpoints.append(endpoint)
        if config.default_endpoint is None and len(config.endpoints) == 1:
            config.default_endpoint = endpoint.id
    return endpoint


def update_endpoint(store: ConfigStore, endpoint_id: str, updates: dict[str, Any]) -> Endpoint:
    with store.edit() as config:
        current = _endpoint_or_builtin(config, endpoint_id)
        if "id" in updates and updates["id"] not in (None, endpoint_id):
            raise UsageError("an endpoint's id cannot be changed")
        merged = current.to_json()
        for key, value in updates.items():
            if key in IMMUTABLE:
                continue
            if key == "cacheStrategy":
                value = _merge_cache_strategy(merged.get("cacheStrategy", {}), value)
            merged[key] = value
        _provider_or_builtin(config, str(merged.get("providerId")))
        merged["updatedAt"] = now_iso()
        endpoint = _validated(Endpoint, merged, "endpoint")
        config.endpoints[config.endpoints.index(current)] = endpoint
    return endpoint


def remove_endpoint(store: ConfigStore, endpoint_id: str) -> None:
    with store.edit() as config:
        current = _endpoint_or_builtin(config, endpoint_id)
        config.endpoints.remove(current)
        if config.default_endpoint == endpoint_id:
            config.default_endpoint = None


def set_default_endpoint(store: ConfigStore, endpoint_id: str | None) -> None:
    with store.edit() as config:
        if endpoint_id is not None and config.endpoint(endpoint_id) is None:
            if endpoint_id == LOCAL_ID:
                _write_out_builtins(config)
            else:
                raise endpoint_not_found(config, endpoint_id)
        config.default_endpoint = endpoint_id


def update_cache_settings(
    store: ConfigStore, updates: dict[str, Any], *, via_api: bool = False
) -> GlobalCacheSettings:
    if via_api:
        env_policy.refuse_allow_list(updates)
    with store.edit() as config:
        merged = config.global_cache_settings.to_json()
        merged.update(updates)
        settings = _validated(GlobalCacheSettings, merged, "cache settings")
        if "cacheDir" in updates:
            _check_cache_dir(settings.cache_dir, project_root_of(store.path))
        config.global_cache_settings = settings
    return settings


def _check_cache_dir(value: str, project_root: Path) -> None:
    """A folder ccw can create and use; refused before it is saved, not at the first call."""
    fix = "set cacheDir to a folder path, absolute, ~/... or relative to the project"
    if "$" in value:
        raise UsageError(
            "cacheDir: environment variables are not expanded in paths ($ found)",
            fix + " (~ is expanded)",
        )
    path = expand_dir(value, project_root)
    try:
        for folder in [path, *path.parents]:
            if folder.exists():
                if not folder.is_dir():
                    raise UsageError(f"cacheDir: {folder} exists and is not a folder", fix)
                break
    except OSError as exc:
        raise UsageError(f"cacheDir: cannot use {value!r}: {exc.strerror}", fix) from None


def _allow_own_references(config: Config, provider: Provider) -> None:
    """Variables the user names in apiBase or a header from the command line are theirs to
    use: add them to ``allowedEnvVars``, which the call checks."""
    values = [provider.api_base, *(provider.custom_headers or {}).values()]
    names = [name for value in values for name in referenced_names(value)]
    current = list(config.allowed_env_vars or [])
    added = [name for name in dict.fromkeys(names) if name not in current]
    if added:
        config.allowed_env_vars = current + added


def allow_env(store: ConfigStore, names: list[str], *, remove: bool = False) -> list[str]:
    """Add names to (or remove them from) ``allowedEnvVars``; the CLI's own command."""
    for name in names:
        if not ENV_NAME.match(name):
            raise UsageError(
                f"not an environment variable name: {name!r}", "use letters, digits and _"
            )
    with store.edit() as config:
        current = list(config.allowed_env_vars or [])
        if remove:
            current = [name for name in current if name not in names]
        else:
            current += [name for name in names if name not in current]
        config.allowed_env_vars = current or None
    return current
