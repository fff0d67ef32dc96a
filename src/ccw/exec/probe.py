"""Test a provider connection with the cheapest real request it allows: its model list.

Plain httpx, no litellm: the dashboard and ``ccw provider test`` stay light. The key,
the base URL and the custom headers come only from the stored provider, their ``${VAR}``
references resolved from this process's environment as a real call resolves them. Neither
the key nor a secret header value appears in a result, even when the provider echoes it back;
messages show the stored base URL, not its resolved form.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import httpx

from ccw.config.providers import DEFAULT_BASES, kind
from ccw.config.schema import Provider
from ccw.config.secrets import EnvNotAllowedError, MissingKeyError, resolve
from ccw.exec.redact import credential_set, scrub

ANTHROPIC_VERSION = "2023-06-01"
AZURE_API_VERSION = "2024-10-21"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class ProbeResult:
    """What a connection test found; ``error_kind`` names the class of failure."""

    success: bool
    latency_ms: int
    error_kind: str | None = None
    error: str | None = None
    models: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "latencyMs": self.latency_ms,
            "errorKind": self.error_kind,
            "error": self.error,
            "models": self.models,
        }


@dataclass(frozen=True)
class _Request:
    url: str
    shown_url: str  # the URL from the stored, unresolved apiBase
    headers: dict[str, str]
    params: dict[str, str]
    list_key: str
    secrets: tuple[str, ...]


class _NoBase(Exception):
    pass


def _api_key(provider: Provider) -> str | None:
    """The stored key with ``${VAR}`` resolved, else the type's usual variable."""
    if provider.api_key:
        return resolve(provider.api_key, what=f"provider {provider.id} apiKey")
    env_name = kind(provider.type).key_env
    found = os.environ.get(env_name) if env_name else None
    if found:
        return found
    if kind(provider.type).needs_key:
        raise MissingKeyError(
            f"provider {provider.id} has no apiKey"
            + (f" and {env_name} is not set" if env_name else ""),
            "set apiKey to a ${VAR} reference or a key",
        )
    return None


def _base(provider: Provider, local_port: int | None) -> str:
    """The stored base URL, ``${VAR}`` references left as they are."""
    base = provider.api_base or DEFAULT_BASES.get(provider.type)
    if provider.type == "local" and not provider.api_base and local_port:
        base = f"http://127.0.0.1:{local_port}/v1"
    if not base:
        raise _NoBase(f"provider {provider.id} ({provider.type}) needs an apiBase")
    return base.rstrip("/")


def _custom_headers(provider: Provider, allowed: Collection[str]) -> dict[str, str]:
    """The provider's custom headers, ``${VAR}`` references resolved."""
    return {
        name: resolve(value, what=f"provider {provider.id} header {name}", allowed=allowed)
        for name, value in (provider.custom_headers or {}).items()
    }


def _build(
    provider: Provider, key: str | None, local_port: int | None, allowed: Collection[str]
) -> _Request:
    shown_base = _base(provider, local_port)
    try:
        base = resolve(shown_base, what=f"provider {provider.id} apiBase", allowed=allowed)
    except EnvNotAllowedError:
        raise
    except MissingKeyError as exc:
        raise _NoBase(exc.message) from None
    custom = _custom_headers(provider, allowed)
    headers: dict[str, str] = {"accept": "application/json"}
    params: dict[str, str] = {}
    if provider.type == "anthropic":
        url = base + ("/models" if base.endswith("/v1") else "/v1/models")
        headers["anthropic-version"] = provider.api_version or ANTHROPIC_VERSION
        if key:
            headers["x-api-key"] = key
        list_key = "data"
    elif provider.type == "ollama":
        url, list_key = base + "/api/tags", "models"
        if key:
            headers["authorization"] = f"Bearer {key}"
    elif provider.type == "gemini":
        url, list_key = base + "/models", "models"
        if key:
            headers["x-goog-api-key"] = key
    elif provider.type == "azure":
        url, list_key = base + "/openai/models", "data"
        params["api-version"] = provider.api_version or AZURE_API_VERSION
        if key:
            headers["api-key"] = key
    else:
        url, list_key = base + "/models", "data"
        if key:
            headers["authorization"] = f"Bearer {key}"
    if provider.organization:
        headers["openai-organization"] = provider.organization
    headers.update(custom)
    shown_url = shown_base + url[len(base) :]
    kept_out = credential_set(key, provider, custom)
    return _Request(url, shown_url, headers, params, list_key, kept_out)


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    """One line of at most ``MAX_ERROR_CHARS``, every secret masked."""
    return (scrub(" ".join(text.split()), secrets) or "")[:MAX_ERROR_CHARS]


def _provider_message(response: httpx.Response) -> str:
    """The provider's own error text, whatever shape its JSON error takes."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    if isinstance(body, dict):
        error = body.get("error", body.get("message", body.get("detail")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            return str(error)
    return response.text


def _status_kind(status: int) -> str:
    if status in (401, 403):
        return "authentication"
    if status == 404:
        return "not_found"
    if status == 429:
        return "rate_limit"
    if status >= 500:
        return "server_error"
    return "bad_response"


def _count_models(response: httpx.Response, list_key: str) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get(list_key), list):
        return len(body[list_key])
    return None


def test_provider(
    provider: Provider,
    *,
    timeout: float = 10.0,
    local_port: int | None = None,
    allowed_env: Collection[str] = frozenset(),
) -> ProbeResult:
    """List the provider's models once; success, or the failure's class, with the latency.

    ``local_port`` is where the embedded model listens (``config.local.port``); it is the
    base of a ``local`` provider that has no ``apiBase``. ``allowed_env`` is the config's
    ``allowedEnvVars``: the only variables apiBase and header values may refer to.
    """
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        key = _api_key(provider)
        request = _build(provider, key, local_port, allowed_env)
    except EnvNotAllowedError as exc:
        return ProbeResult(False, 0, "env_not_allowed", f"{exc.message}; fix: {exc.fix}")
    except MissingKeyError as exc:
        return ProbeResult(False, 0, "missing_key", exc.message)
    except _NoBase as exc:
        return ProbeResult(False, 0, "unreachable", str(exc))
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.get(request.url, headers=request.headers, params=request.params)
    except httpx.TimeoutException:
        return ProbeResult(False, elapsed(), "timeout", f"no answer within {timeout:g} s")
    except (httpx.TransportError, httpx.InvalidURL) as exc:
        reason = _scrub(str(exc) or type(exc).__name__, request.secrets)
        return ProbeResult(
            False, elapsed(), "unreachable", f"cannot reach {request.shown_url}: {reason}"
        )
    except httpx.DecodingError as exc:  # e.g. a body that is not the gzip its headers claim
        reason = _scrub(str(exc), request.secrets)
        return ProbeResult(
            False,
            elapsed(),
            "bad_response",
            f"{request.shown_url} sent an unreadable body: {reason}",
        )
    except ValueError as exc:  # a header or key that HTTP cannot carry, e.g. non-ASCII
        reason = _scrub(str(exc), request.secrets)
        return ProbeResult(
            False, 0, "unreachable", f"cannot send the request ({reason}); check key and headers"
        )
    latency = elapsed()
    if response.status_code >= 400:
        message = _scrub(_provider_message(response), request.secrets)
        detail = f"HTTP {response.status_code}" + (f": {message}" if message else "")
        return ProbeResult(False, latency, _status_kind(response.status_code), detail)
    if response.status_code >= 300:
        return ProbeResult(
            False, latency, "bad_response", f"HTTP {response.status_code} redirect; check apiBase"
        )
    models = _count_models(response, request.list_key)
    if models is None:
        return ProbeResult(
            False,
            latency,
            "bad_response",
            f"{request.shown_url} did not answer with a model list; check apiBase",
        )
    return ProbeResult(True, latency, models=models)
