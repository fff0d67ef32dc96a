"""Requests to a LiteLLM proxy's own routes (model info, spend, key generation), plain httpx.

The proxy is a ``litellm-proxy`` provider of the config: its apiBase (``${VAR}`` resolved as a
call resolves it) and its key, or another key for admin routes (``ccw proxy key`` takes the
admin key from a variable). No key or header value appears in an error: the proxy's own
messages are masked before they are shown, and redirects are not followed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from ccw.config.effective import effective_config, find_provider
from ccw.config.providers import kind
from ccw.config.schema import Config, Provider
from ccw.config.secrets import resolve
from ccw.errors import CcwError, ExitCode, UsageError
from ccw.exec import faults
from ccw.exec.faults import ProviderFault
from ccw.exec.proxy_client import (
    MODEL_INFO_PATHS,
    ProxyModel,
    keyless_refusal,
    parse_model_info,
    root_url,
)
from ccw.exec.redact import credential_set, scrub

DEFAULT_TIMEOUT_S = 10.0
MAX_MESSAGE_CHARS = 300


class ProxyRefusedError(CcwError):
    """The proxy refused the key for a route (401/403): a virtual key without the rights
    for spend or key routes, or a wrong key."""

    kind = "proxy_refused"
    exit_code = ExitCode.AUTH


@dataclass(frozen=True)
class ProxyAccess:
    """Where a proxy is and the key to send; ``key`` is a secret: never show it."""

    provider_id: str
    root: str  # resolved
    shown_root: str  # as stored, ``${VAR}`` left in
    key: str | None = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        refused_fix: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> Any:
        """The JSON answer of ``method path``; a refusal, an unreachable proxy or an answer
        that is not JSON raise a ``CcwError`` naming the fix."""
        headers = {"accept": "application/json", **self.headers}
        if self.key:
            headers["authorization"] = f"Bearer {self.key}"
        shown = self.shown_root + path
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                response = client.request(
                    method, self.root + path, headers=headers, params=params, json=body
                )
        except httpx.TimeoutException:
            raise ProviderFault(
                faults.TIMEOUT, f"{shown} did not answer within {timeout:g} s"
            ) from None
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            failure = faults.connect_failure(
                exc, secrets=self.secrets, provider_id=self.provider_id
            )
            if failure is not None:
                raise ProviderFault(failure.kind, failure.detail, fix=failure.fix) from None
            reason = scrub(str(exc) or type(exc).__name__, self.secrets)
            raise ProviderFault(faults.UNREACHABLE, f"cannot reach {shown}: {reason}") from None
        return self._answer(response, shown, refused_fix)

    def _answer(self, response: httpx.Response, shown: str, refused_fix: str | None) -> Any:
        status = response.status_code
        keyless = keyless_refusal(status, self._message(response))
        if keyless is not None:
            raise ProxyRefusedError(
                f"{keyless} ({shown})",
                refused_fix or f"check the key: ccw provider test {self.provider_id}",
            )
        if status in (401, 403):
            raise ProxyRefusedError(
                f"the proxy refused the key of provider {self.provider_id} for {shown} "
                f"(HTTP {status}: {self._message(response)})",
                refused_fix or f"check the key: ccw provider test {self.provider_id}",
            )
        if status >= 300:
            fault = faults.SERVER_ERROR if status >= 500 else faults.BAD_RESPONSE
            if status == 404:
                fault = faults.NOT_FOUND
            raise ProviderFault(fault, f"{shown} answered HTTP {status}: {self._message(response)}")
        try:
            return response.json()
        except ValueError:
            raise ProviderFault(
                faults.BAD_RESPONSE, f"{shown} did not answer JSON; is the apiBase a LiteLLM proxy?"
            ) from None

    def _message(self, response: httpx.Response) -> str:
        """The proxy's error text (``{"error": {"message": ...}}`` or ``{"detail": ...}``)."""
        text: Any
        try:
            body = response.json()
        except ValueError:
            text = response.text
        else:
            text = body
            if isinstance(body, dict):
                text = body.get("error", body.get("detail", body))
                if isinstance(text, dict):
                    text = text.get("message", text.get("error", text))
        return (scrub(" ".join(str(text).split()), self.secrets) or "")[:MAX_MESSAGE_CHARS]


def proxy_provider(config: Config, provider_id: str | None = None) -> Provider:
    """The ``litellm-proxy`` provider named, else the default endpoint's when it is one,
    else the only one in the config."""
    config = effective_config(config)
    if provider_id is not None:
        provider = find_provider(config, provider_id)
        if not kind(provider.type).team_proxy:
            raise UsageError(
                f"provider {provider.id} is a {provider.type} provider, not a LiteLLM proxy",
                "name a provider of type litellm-proxy",
            )
        return provider
    proxies = [p for p in config.providers if kind(p.type).team_proxy and p.enabled]
    default = config.endpoint(config.default_endpoint) if config.default_endpoint else None
    chosen = [p for p in proxies if default is not None and p.id == default.provider_id]
    if chosen:
        return chosen[0]
    if len(proxies) == 1:
        return proxies[0]
    if not proxies:
        raise UsageError(
            "no litellm-proxy provider is configured",
            "ccw provider add --type litellm-proxy --api-base https://proxy.example "
            "--api-key '${LITELLM_PROXY_API_KEY}'",
        )
    raise UsageError(
        "several litellm-proxy providers are configured: " + ", ".join(p.id for p in proxies),
        "name one with --provider ID",
    )


def access(config: Config, provider: Provider, key: str | None = None) -> ProxyAccess:
    """How to reach ``provider``'s proxy: its resolved base and custom headers, and ``key``
    (else the provider's own first enabled key)."""
    from ccw.exec.connection import connection
    from ccw.exec.deployments import NO_KEY, provider_keys

    config = effective_config(config)
    conn = connection(provider, allowed=config.allowed_env)
    if not conn.api_base:
        raise UsageError(
            f"provider {provider.id} (litellm-proxy) needs an apiBase",
            f"ccw provider update {provider.id} --api-base https://proxy.example",
        )
    if key is None:
        ((_, found),) = provider_keys(provider)[:1]
        key = None if found == NO_KEY else found
    shown = provider.api_base or conn.api_base
    return ProxyAccess(
        provider_id=provider.id,
        root=root_url(conn.api_base),
        shown_root=root_url(shown),
        key=key,
        headers=dict(conn.headers),
        secrets=credential_set(key, provider, conn.headers),
    )


def resolve_variable(name: str, what: str) -> str:
    """The value of ``${name}`` (environment, then ``ccw keys``), or ``MissingKeyError``."""
    return resolve(f"${{{name}}}", what=what)


def model_groups(proxy: ProxyAccess) -> list[ProxyModel]:
    """The proxy's model groups with their context windows and prompt caching, from its
    model-info route (``/model/info``, else ``/v1/model/info`` on proxies that serve only
    the versioned one)."""
    body: Any = None
    for path in MODEL_INFO_PATHS:
        try:
            body = proxy.request("GET", path)
            break
        except ProviderFault as exc:
            if exc.fault is not faults.NOT_FOUND or path == MODEL_INFO_PATHS[-1]:
                raise
    try:
        return parse_model_info(body)
    except ValueError:
        raise ProviderFault(
            faults.BAD_RESPONSE,
            f"{proxy.shown_root}{MODEL_INFO_PATHS[0]} did not list models; "
            "is the apiBase a LiteLLM proxy?",
        ) from None
