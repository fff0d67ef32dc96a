"""Test a provider connection with the cheapest real request it allows: its model list.

Plain httpx, no litellm: the dashboard and ``ccw provider test`` stay light. The key,
the base URL and the custom headers come only from the stored provider, their ``${VAR}``
references resolved from this process's environment as a real call resolves them. Neither
the key nor a secret header value appears in a result, even when the provider echoes it back;
messages show the stored base URL, not its resolved form.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import httpx

from ccw.config.providers import kind, resolve_key
from ccw.config.schema import Config, Provider
from ccw.config.secrets import EnvNotAllowedError, MissingKeyError, resolve
from ccw.errors import CcwError, ExitCode, NotFoundError
from ccw.exec import faults
from ccw.exec.faults import FaultKind
from ccw.exec.redact import credential_set, scrub

MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class ProbeResult:
    """What a connection test found; ``error_kind`` names the class of failure with the
    names a call uses (a ``FaultKind``'s, or a ``CcwError``'s ``kind``), and ``exit_code`` is
    what ``ccw provider test`` exits with."""

    success: bool
    latency_ms: int
    error_kind: str | None = None
    error: str | None = None
    models: int | None = None
    exit_code: int = ExitCode.OK

    @classmethod
    def fault(cls, fault: FaultKind, latency_ms: int, error: str) -> ProbeResult:
        return cls(False, latency_ms, fault.name, error, exit_code=fault.exit_code)

    @classmethod
    def refused(cls, exc: CcwError, error: str) -> ProbeResult:
        """Nothing was sent: the stored provider cannot make a request."""
        return cls(False, 0, exc.kind, error, exit_code=exc.exit_code)

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


def _base(provider: Provider, local_port: int | None) -> str:
    """The stored base URL, ``${VAR}`` references left as they are."""
    base = kind(provider.type).base_for(provider.api_base, local_port)
    if not base:
        raise _NoBase(f"provider {provider.id} ({provider.type}) needs an apiBase")
    return base.rstrip("/")


def _custom_headers(provider: Provider, allowed: Collection[str]) -> dict[str, str]:
    """The provider's custom headers as a call sends them (``advancedSettings.customHeaders``
    beneath the top-level ``customHeaders``), ``${VAR}`` references resolved."""
    advanced = provider.advanced_settings.custom_headers if provider.advanced_settings else None
    raw = {**(advanced or {}), **(provider.custom_headers or {})}
    return {
        name: resolve(value, what=f"provider {provider.id} header {name}", allowed=allowed)
        for name, value in raw.items()
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
    url, headers, params, list_key = kind(provider.type).probe_request(
        base, key, provider.api_version
    )
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


def _status_fault(status: int) -> FaultKind:
    """A model list refused by status; any other 4xx means the apiBase is not an API."""
    if status in (401, 403):
        return faults.AUTHENTICATION
    if status == 404:
        return faults.NOT_FOUND
    if status == 429:
        return faults.RATE_LIMIT
    if status >= 500:
        return faults.SERVER_ERROR
    return faults.BAD_RESPONSE


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
    key: str | None = None,
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
        key = key if key is not None else resolve_key(provider)
        request = _build(provider, key, local_port, allowed_env)
    except EnvNotAllowedError as exc:
        return ProbeResult.refused(exc, f"{exc.message}; fix: {exc.fix}")
    except MissingKeyError as exc:
        return ProbeResult.refused(exc, exc.message)
    except _NoBase as exc:
        return ProbeResult.fault(faults.UNREACHABLE, 0, str(exc))
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.get(request.url, headers=request.headers, params=request.params)
    except httpx.TimeoutException:
        return ProbeResult.fault(faults.TIMEOUT, elapsed(), f"no answer within {timeout:g} s")
    except (httpx.TransportError, httpx.InvalidURL) as exc:
        failure = faults.connect_failure(exc, secrets=request.secrets, provider_id=provider.id)
        if failure is not None:  # the same root cause a call names: DNS, refused, TLS
            return ProbeResult.fault(failure.kind, elapsed(), f"{failure.detail}; {failure.fix}")
        reason = _scrub(str(exc) or type(exc).__name__, request.secrets)
        return ProbeResult.fault(
            faults.UNREACHABLE, elapsed(), f"cannot reach {request.shown_url}: {reason}"
        )
    except httpx.DecodingError as exc:  # e.g. a body that is not the gzip its headers claim
        reason = _scrub(str(exc), request.secrets)
        return ProbeResult.fault(
            faults.BAD_RESPONSE, elapsed(), f"{request.shown_url} sent an unreadable body: {reason}"
        )
    except ValueError as exc:  # a header or key that HTTP cannot carry, e.g. non-ASCII
        reason = _scrub(str(exc), request.secrets)
        return ProbeResult.fault(
            faults.UNREACHABLE, 0, f"cannot send the request ({reason}); check key and headers"
        )
    latency = elapsed()
    if response.status_code >= 400:
        message = _scrub(_provider_message(response), request.secrets)
        detail = f"HTTP {response.status_code}" + (f": {message}" if message else "")
        if kind(provider.type).team_proxy:
            from ccw.exec.proxy_client import keyless_refusal

            refusal = keyless_refusal(response.status_code, message)
            if refusal is not None:
                return ProbeResult.fault(faults.AUTHENTICATION, latency, refusal)
        return ProbeResult.fault(_status_fault(response.status_code), latency, detail)
    if response.status_code >= 300:
        return ProbeResult.fault(
            faults.BAD_RESPONSE, latency, f"HTTP {response.status_code} redirect; check apiBase"
        )
    models = _count_models(response, request.list_key)
    if models is None:
        return ProbeResult.fault(
            faults.BAD_RESPONSE,
            latency,
            f"{request.shown_url} did not answer with a model list; check apiBase",
        )
    if kind(provider.type).team_proxy:
        return _proxy_health(request, latency, models, timeout)
    return ProbeResult(True, latency, models=models)


def _proxy_health(request: _Request, latency: int, models: int, timeout: float) -> ProbeResult:
    """A LiteLLM proxy also answers its readiness route (no model is called): a proxy whose
    database or cache is down says so there."""
    from ccw.exec.proxy_client import HEALTH_PATH, root_url

    url = root_url(request.url.removesuffix("/models")) + HEALTH_PATH
    shown = root_url(request.shown_url.removesuffix("/models")) + HEALTH_PATH
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.get(url, headers={"accept": "application/json"})
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        reason = _scrub(str(exc) or type(exc).__name__, request.secrets)
        return ProbeResult.fault(faults.BAD_RESPONSE, latency, f"{shown}: {reason}")
    status = body.get("status") if isinstance(body, dict) else None
    if response.status_code != 200 or status not in ("healthy", "connected"):
        detail = _scrub(json.dumps(body)[:MAX_ERROR_CHARS], request.secrets)
        return ProbeResult.fault(
            faults.SERVER_ERROR, latency, f"{shown} HTTP {response.status_code}: {detail}"
        )
    return ProbeResult(True, latency, models=models)


@dataclass(frozen=True)
class KeyProbe:
    """One key's connection test: ``key_id`` is ``default`` for a provider's single key."""

    key_id: str
    result: ProbeResult

    def to_dict(self) -> dict[str, Any]:
        return {"keyId": self.key_id, **self.result.to_dict()}


@dataclass(frozen=True)
class ProviderProbe:
    """The connection test of a provider: one result per key tested (all enabled keys, or
    the one asked for). ``success`` only if every tested key works."""

    provider_id: str
    keys: tuple[KeyProbe, ...]

    @property
    def success(self) -> bool:
        return all(k.result.success for k in self.keys)

    @property
    def exit_code(self) -> int:
        failed = [k.result.exit_code for k in self.keys if not k.result.success]
        return failed[0] if failed else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """The first key's fields at the top (the single-key shape), every key under
        ``keys``."""
        first = self.keys[0].result.to_dict() if self.keys else {}
        return {
            "providerId": self.provider_id,
            **first,
            "success": self.success,
            "keys": [k.to_dict() for k in self.keys],
        }


def probe_provider(
    config: Config,
    provider_id: str,
    *,
    key_id: str | None = None,
    timeout: float | None = None,
) -> ProviderProbe:
    """Test a provider of ``config`` (``ccw provider test`` and the API's test route): each
    enabled key in turn, or only ``key_id``. Unknown ids raise ``NotFoundError``."""
    from ccw.config.effective import find_provider
    from ccw.exec.deployments import DEFAULT_KEY_ID, provider_keys

    provider = find_provider(config, provider_id)
    entries = provider.enabled_keys()
    known = [e.id for e in provider.api_keys or ()] or [DEFAULT_KEY_ID]
    if key_id is not None and key_id not in known:
        raise NotFoundError(
            f"provider {provider.id} has no key {key_id}", "known keys: " + ", ".join(known)
        )
    wait = timeout or provider.timeout or 10.0

    def run(key: str | None) -> ProbeResult:
        return test_provider(
            provider,
            timeout=wait,
            local_port=config.local.port,
            allowed_env=config.allowed_env,
            key=key,
        )

    if not entries:
        return ProviderProbe(provider.id, (KeyProbe(DEFAULT_KEY_ID, run(None)),))
    results: list[KeyProbe] = []
    for entry in entries:
        if key_id is not None and entry.id != key_id:
            continue
        try:
            ((_, key),) = provider_keys(provider, only={entry.id})
        except MissingKeyError as exc:
            results.append(KeyProbe(entry.id, ProbeResult.refused(exc, exc.message)))
            continue
        results.append(KeyProbe(entry.id, run(key)))
    if not results:  # the key asked for is disabled
        raise NotFoundError(
            f"key {key_id} of provider {provider.id} is disabled",
            f"enable it in providers[{provider.id}].apiKeys",
        )
    return ProviderProbe(provider.id, tuple(results))
