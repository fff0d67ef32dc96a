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
from ccw.config.layers import merge
from ccw.config.providers import KINDS, kind
from ccw.config.schema import CacheStrategy, Config, Endpoint, GlobalCacheSettings, Provider
from ccw.config.secrets import (
    ENV_NAME,
    holds_literal_secret,
    is_masked,
    mask,
    referenced_names,
)
from ccw.config.store import ConfigStore, _describe_validation
from ccw.errors import ConflictError, NotFoundError, UsageError
from ccw.paths import expand_dir, git_work_tree, project_root_of

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


def _visible(config: Config, others: Config | None) -> Config:
    """The file being edited read over the other config layers: what an endpoint's provider
    or the default endpoint may name (an endpoint in the project file may use a provider of
    the user file)."""
    return config if others is None else merge(others, config)


def _require_provider(config: Config, provider_id: str, others: Config | None) -> None:
    """An endpoint's provider exists in some layer (the built-in ``local`` is written out)."""
    if others is not None and others.provider(provider_id) is not None:
        return
    if config.provider(provider_id) is None and provider_id != LOCAL_ID:
        raise provider_not_found(effective_config(_visible(config, others)), provider_id)
    _provider_or_builtin(config, provider_id)


def _provider_to_change(config: Config, provider_id: str, others: Config | None) -> Provider:
    """The provider of this file; one defined only in another layer is copied here first,
    so the change overrides it in this file (``--project`` on a user provider)."""
    inherited = others.provider(provider_id) if others is not None else None
    if config.provider(provider_id) is None and inherited is not None:
        config.providers.append(inherited.model_copy(deep=True))
    return _provider_or_builtin(config, provider_id)


def _endpoint_to_change(config: Config, endpoint_id: str, others: Config | None) -> Endpoint:
    inherited = others.endpoint(endpoint_id) if others is not None else None
    if config.endpoint(endpoint_id) is None and inherited is not None:
        config.endpoints.append(inherited.model_copy(deep=True))
    return _endpoint_or_builtin(config, endpoint_id)


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


def add_provider(
    store: ConfigStore,
    data: dict[str, Any],
    *,
    via_api: bool = False,
    others: Config | None = None,
    allow_literal_key: bool = False,
) -> Provider:
    """Add a provider. ``via_api`` applies the API's limits on environment references
    (``ccw.config.env_policy``); ``others`` is the config of the other layers. A literal key
    is refused in a file inside a git work tree unless ``allow_literal_key``."""
    sent = dict(data)
    if via_api:
        env_policy.refuse_allow_list(sent)
    data = {key: redact.restore_field(key, value, None) for key, value in sent.items()}
    if not allow_literal_key:
        refuse_literal_key_in_git(store, data, None, via_api=via_api)
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
            env_policy.check_api_provider(_visible(config, others), provider, None, sent)
        else:
            _allow_own_references(config, provider)
        config.providers.append(provider)
    return provider


def update_provider(
    store: ConfigStore,
    provider_id: str,
    updates: dict[str, Any],
    *,
    via_api: bool = False,
    others: Config | None = None,
    allow_literal_key: bool = False,
) -> Provider:
    """Change fields of a provider. A masked value sent back keeps the stored one (list
    entries matched by ``id``); ``via_api`` applies ``ccw.config.env_policy``. A provider of
    ``others`` only is copied into this file first (an override)."""
    if via_api:
        env_policy.refuse_allow_list(updates)
    if not allow_literal_key:
        stored = store.load().provider(provider_id) or (others and others.provider(provider_id))
        before = stored.to_json() if stored else None
        refuse_literal_key_in_git(store, {**(before or {}), **updates}, before, via_api=via_api)
    with store.edit() as config:
        current = _provider_to_change(config, provider_id, others)
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
            env_policy.check_api_provider(_visible(config, others), provider, current, updates)
        else:
            _allow_own_references(config, provider)
        config.providers[config.providers.index(current)] = provider
    return provider


def _not_here(store: ConfigStore, what: str, entry_id: str) -> NotFoundError:
    return NotFoundError(
        f"{what} {entry_id} is not defined in {store.path} (another config file defines it)",
        "leave out --global/--project to change it where it is defined",
    )


def remove_provider(
    store: ConfigStore, provider_id: str, *, others: Config | None = None
) -> list[str]:
    """Delete a provider and the endpoints of the same file that use it; returns the ids of
    the endpoints removed."""
    with store.edit() as config:
        if config.provider(provider_id) is None and others and others.provider(provider_id):
            raise _not_here(store, "provider", provider_id)
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


def add_endpoint(
    store: ConfigStore, data: dict[str, Any], *, others: Config | None = None
) -> Endpoint:
    """Add an endpoint; its provider may live in ``others`` (another layer). The first
    endpoint of a config with no default (in any layer) becomes the default."""
    data = dict(data)
    if not data.get("id"):
        raise UsageError("an endpoint needs an id, e.g. my-gpt4o (it is what --model takes)")
    with store.edit() as config:
        if config.endpoint(str(data["id"])):
            raise ConflictError(f"endpoint id already exists: {data['id']}")
        _require_provider(config, str(data.get("providerId") or ""), others)
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
        visible = _visible(config, others)
        if visible.default_endpoint is None and len(visible.endpoints) == 1:
            config.default_endpoint = endpoint.id
    return endpoint


def update_endpoint(
    store: ConfigStore,
    endpoint_id: str,
    updates: dict[str, Any],
    *,
    others: Config | None = None,
) -> Endpoint:
    """Change fields of an endpoint; one of ``others`` only is copied here first."""
    with store.edit() as config:
        current = _endpoint_to_change(config, endpoint_id, others)
        if "id" in updates and updates["id"] not in (None, endpoint_id):
            raise UsageError("an endpoint's id cannot be changed")
        merged = current.to_json()
        for key, value in updates.items():
            if key in IMMUTABLE:
                continue
            if key == "cacheStrategy":
                value = _merge_cache_strategy(merged.get("cacheStrategy", {}), value)
            merged[key] = value
        _require_provider(config, str(merged.get("providerId")), others)
        merged["updatedAt"] = now_iso()
        endpoint = _validated(Endpoint, merged, "endpoint")
        config.endpoints[config.endpoints.index(current)] = endpoint
    return endpoint


def remove_endpoint(store: ConfigStore, endpoint_id: str, *, others: Config | None = None) -> None:
    with store.edit() as config:
        if config.endpoint(endpoint_id) is None and others and others.endpoint(endpoint_id):
            raise _not_here(store, "endpoint", endpoint_id)
        current = _endpoint_or_builtin(config, endpoint_id)
        config.endpoints.remove(current)
        if config.default_endpoint == endpoint_id:
            config.default_endpoint = None


def set_default_endpoint(
    store: ConfigStore, endpoint_id: str | None, *, others: Config | None = None
) -> None:
    """Set (or clear) this file's default; the endpoint may live in ``others``."""
    with store.edit() as config:
        known = _visible(config, others)
        if endpoint_id is not None and known.endpoint(endpoint_id) is None:
            if endpoint_id == LOCAL_ID:
                _write_out_builtins(config)
            else:
                raise endpoint_not_found(effective_config(known), endpoint_id)
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


def _key_material(data: dict[str, Any] | None) -> set[str]:
    """Literal keys a provider's fields hold (masked values, which keep the stored key, and
    ``${VAR}`` references are not)."""
    found = redact.key_material(data or {})
    return {text for text in found if holds_literal_secret(text) and not is_masked(text)}


def _ignored_by_git(path: Path, tree: Path) -> bool:
    """True when git ignores ``path`` (``git check-ignore``), so no ``git add .`` takes it;
    without a working git, the file counts as committable."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(tree), "check-ignore", "-q", "--", str(path)],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def refuse_literal_key_in_git(
    store: ConfigStore,
    data: dict[str, Any],
    before: dict[str, Any] | None,
    *,
    via_api: bool = False,
) -> None:
    """Refuse to write a new literal key into a file inside a git work tree that git does not
    ignore, where one ``git add`` would commit it; checked before anything is written.
    ``data`` is the provider as it would be saved, ``before`` as it is stored. Keys already
    in the file are left to the warning."""
    if not _key_material(data) - _key_material(before):
        return
    tree = git_work_tree(store.target.parent)
    if tree is None or _ignored_by_git(store.target, tree):
        return
    provider_type = str(data.get("type") or "")
    name = (kind(provider_type).key_env if provider_type in KINDS else None) or "MY_API_KEY"
    if via_api:
        fix = (
            f"store the key outside git (ccw keys set {name}, then ccw config allow-env "
            f"{name}) and send apiKey '${{{name}}}', or save the provider with scope=user"
        )
    else:
        fix = (
            f"ccw keys set {name}, then --api-key '${{{name}}}'; or keep the provider in "
            "your user config with --global; or pass --allow-literal-key"
        )
    raise UsageError(
        f"refusing to write a literal key for provider {data.get('id') or provider_type} into "
        f"{store.path}: it is inside the git work tree {tree}, where it could be committed",
        fix,
    )
