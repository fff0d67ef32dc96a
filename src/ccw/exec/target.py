"""From an endpoint id to everything one LiteLLM call needs, credentials resolved in memory."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ccw.config.effective import LOCAL_ID, effective_config, find_endpoint, find_provider
from ccw.config.providers import ProviderKind, kind, resolve_key
from ccw.config.schema import Config, Endpoint, Provider
from ccw.config.secrets import holds_literal_secret, resolve
from ccw.errors import CcwError, ExitCode, UsageError

NO_KEY = "no-key"  # OpenAI-compatible servers that need no key still need a non-empty one


class DisabledError(CcwError):
    """The endpoint or its provider is switched off in the config."""

    kind = "disabled"
    exit_code = ExitCode.CONFIG


@dataclass
class CallTarget:
    """One resolved call target. ``api_key`` is the real key: never print or store it."""

    endpoint: Endpoint
    provider: Provider
    model: str
    api_key: str = field(repr=False)
    api_base: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    max_retries: int = 2
    organization: str | None = None
    api_version: str | None = None
    literal_key: bool = False

    @property
    def provider_type(self) -> str:
        return self.provider.type

    @property
    def provider_kind(self) -> ProviderKind:
        """The registry entry of the provider's type: prompt caching, pricing, embedding."""
        return kind(self.provider.type)


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
    """Check the endpoint and its provider and resolve the key; errors name the fix."""
    config = effective_config(config)
    endpoint = choose_endpoint(config, endpoint_id)
    if not endpoint.enabled:
        raise DisabledError(
            f"endpoint {endpoint.id} is disabled", f"ccw endpoint update {endpoint.id} --enable"
        )
    provider = find_provider(config, endpoint.provider_id)
    if not provider.enabled:
        raise DisabledError(
            f"provider {provider.id} is disabled", f"ccw provider update {provider.id} --enable"
        )
    spec = kind(provider.type)
    api_key = resolve_key(provider)
    allowed = config.allowed_env
    api_base = (
        resolve(provider.api_base, what=f"provider {provider.id} apiBase", allowed=allowed)
        if provider.api_base
        else spec.call_base
    )
    if spec.needs_base and not api_base:
        raise UsageError(
            f"provider {provider.id} ({provider.type}) needs an apiBase",
            f"ccw provider update {provider.id} --api-base https://host/v1",
        )
    headers = {
        name: resolve(value, what=f"provider {provider.id} header {name}", allowed=allowed)
        for name, value in (provider.custom_headers or {}).items()
    }
    return CallTarget(
        endpoint=endpoint,
        provider=provider,
        model=spec.litellm_model(endpoint.model),
        api_key=api_key or NO_KEY,
        api_base=api_base,
        headers=headers,
        timeout=provider.timeout,
        max_retries=2 if provider.max_retries is None else provider.max_retries,
        organization=provider.organization,
        api_version=provider.api_version,
        literal_key=holds_literal_secret(provider.api_key),
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
