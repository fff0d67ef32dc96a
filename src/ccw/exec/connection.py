"""How one provider is called: base URL, headers, timeout, retries, limits, and a model's own
endpoint settings, with ccw's top-level fields and ``advancedSettings`` merged.

Precedence, field by field: the model's ``endpointSettings`` (from ``llmModels`` and the other
model lists), then the provider's own top-level field, then ``advancedSettings``. Custom headers
are merged the same way, name by name. Where a top-level field and ``advancedSettings`` both
set a value and disagree, the top-level one is used and the call warns once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ccw.config.providers import kind
from ccw.config.schema import AdvancedSettings, ModelDefinition, Provider
from ccw.config.secrets import resolve
from ccw.errors import UsageError

DEFAULT_MAX_RETRIES = 2


@dataclass(frozen=True)
class Connection:
    """Everything about a provider's requests except the key. Header values are resolved:
    they may be secrets, never print them."""

    api_base: str | None
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    timeout: float | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    organization: str | None = None
    api_version: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    proxy: str | None = None
    warnings: tuple[str, ...] = ()


def _pick(
    provider: Provider, name: str, own: object, advanced: object, warnings: list[str]
) -> object:
    """The top-level value when set, else ``advancedSettings``'; a disagreement is warned."""
    if own is not None and advanced is not None and own != advanced:
        warnings.append(
            f"provider {provider.id}: {name} is set both at the top level and in "
            f"advancedSettings; the top-level value is used"
        )
    return own if own is not None else advanced


def connection(
    provider: Provider,
    model: ModelDefinition | None = None,
    *,
    allowed: Collection[str] = frozenset(),
) -> Connection:
    """The merged settings of ``provider`` for ``model`` (its ``llmModels`` entry, if any),
    ``${VAR}`` references in apiBase and header values resolved against ``allowed``."""
    spec = kind(provider.type)
    adv = provider.advanced_settings or AdvancedSettings()
    per_model = model.endpoint_settings if model else None
    warnings: list[str] = []
    raw_base = (per_model.base_url if per_model else None) or provider.api_base
    api_base = (
        resolve(raw_base, what=f"provider {provider.id} apiBase", allowed=allowed)
        if raw_base
        else spec.call_base
    )
    if spec.needs_base and not api_base:
        raise UsageError(
            f"provider {provider.id} ({provider.type}) needs an apiBase",
            f"ccw provider update {provider.id} --api-base https://host/v1",
        )
    headers_raw = dict(adv.custom_headers or {})
    for name, value in (provider.custom_headers or {}).items():
        if name in headers_raw and headers_raw[name] != value:
            warnings.append(
                f"provider {provider.id}: header {name} is set both in customHeaders and in "
                "advancedSettings; customHeaders wins"
            )
        headers_raw[name] = value
    headers_raw.update((per_model.custom_headers if per_model else None) or {})
    headers = {
        name: resolve(value, what=f"provider {provider.id} header {name}", allowed=allowed)
        for name, value in headers_raw.items()
    }
    timeout = _pick(provider, "timeout", provider.timeout, adv.timeout, warnings)
    retries = _pick(provider, "maxRetries", provider.max_retries, adv.max_retries, warnings)
    if per_model and per_model.timeout is not None:
        timeout = per_model.timeout
    if per_model and per_model.max_retries is not None:
        retries = per_model.max_retries
    organization = _pick(
        provider, "organization", provider.organization, adv.organization, warnings
    )
    api_version = _pick(provider, "apiVersion", provider.api_version, adv.api_version, warnings)
    return Connection(
        api_base=api_base,
        headers=headers,
        timeout=float(timeout) if isinstance(timeout, int | float) else None,
        max_retries=retries if isinstance(retries, int) else DEFAULT_MAX_RETRIES,
        organization=organization if isinstance(organization, str) else None,
        api_version=api_version if isinstance(api_version, str) else None,
        rpm=adv.rpm,
        tpm=adv.tpm,
        proxy=adv.proxy,
        warnings=tuple(warnings),
    )


def litellm_params(
    model: str,
    api_key: str | None,
    *,
    api_base: str | None,
    headers: dict[str, str],
    organization: str | None,
    api_version: str | None,
) -> dict[str, Any]:
    """LiteLLM's connection arguments for one key: what a plain call, an embedding and each
    Router deployment pass alike. Holds the key: never print it."""
    params: dict[str, Any] = {"model": model, "api_key": api_key}
    if api_base:
        params["api_base"] = api_base
    if headers:
        params["extra_headers"] = dict(headers)
    if organization:
        params["organization"] = organization
    if api_version:
        params["api_version"] = api_version
    return params
