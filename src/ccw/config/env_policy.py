"""Which environment variables a value written through the HTTP API may refer to.

Whoever can reach the API could otherwise store ``${AWS_SECRET_ACCESS_KEY}`` as a key or a
header and aim it at their own host. Through the API:

- ``apiKey`` may refer to the variables in the config's ``allowedEnvVars``, or to its provider
  type's conventional variable (``OPENAI_API_KEY`` for ``openai``, ...) while the provider talks
  to that type's default host;
- ``apiBase`` and header values may refer only to ``allowedEnvVars``;
- moving a provider to another origin (scheme, host, port) keeps no stored secret: the key and
  every literal header value must be sent again, in clear or as an allowed reference;
- ``allowedEnvVars`` itself is edited only from the command line.

The CLI and hand edits are the user's own and are not limited here; at call time apiBase and
header references are still resolved only for ``allowedEnvVars``.
"""

from __future__ import annotations

from typing import Any

from ccw.config.providers import effective_origin, kind, origin
from ccw.config.redact import secret_strings
from ccw.config.schema import Config, Provider
from ccw.config.secrets import check_allowed, holds_literal_secret, referenced_names
from ccw.errors import UsageError

ALLOW_LIST_FIELD = "allowedEnvVars"
ALLOW_ENV_COMMAND = "ccw config allow-env NAME"


def refuse_allow_list(data: dict[str, Any]) -> None:
    """The allow-list is the user's own: the API neither sets nor extends it."""
    if ALLOW_LIST_FIELD in data:
        raise UsageError(
            f"{ALLOW_LIST_FIELD} cannot be changed through the API",
            f"run on the command line: {ALLOW_ENV_COMMAND}",
        )


def _key_reference_allowed(name: str, provider: Provider, allowed: frozenset[str]) -> bool:
    if name in allowed:
        return True
    spec = kind(provider.type)
    default_base = spec.default_base
    return (
        name == spec.key_env
        and default_base is not None
        and origin(provider.api_base or default_base) == origin(default_base)
    )


def check_api_provider(
    config: Config, provider: Provider, before: Provider | None, sent: dict[str, Any]
) -> None:
    """Refuse a provider saved through the API that would send a secret it has no right to.

    ``before`` is the stored provider (``None`` when adding), ``sent`` the request's fields as
    the client wrote them (masked values not yet put back).
    """
    allowed = config.allowed_env
    moved = before is not None and effective_origin(
        before.type, before.api_base
    ) != effective_origin(provider.type, provider.api_base)
    if moved and before is not None:
        _refuse_kept_secrets(provider, before, sent)
    where = f"provider {provider.id}"
    if provider.api_key and (before is None or moved or before.api_key != provider.api_key):
        for name in referenced_names(provider.api_key):
            if not _key_reference_allowed(name, provider, allowed):
                hint = kind(provider.type).key_env
                usual = f" (the API accepts ${{{hint}}} for its default host)" if hint else ""
                raise UsageError(
                    f"{where} apiKey refers to ${{{name}}}, which the API may not set{usual}",
                    f"allow it on the command line: ccw config allow-env {name}",
                )
    if provider.api_base and (before is None or before.api_base != provider.api_base):
        check_allowed(provider.api_base, allowed, f"{where} apiBase")
    old_headers = (before.custom_headers if before else None) or {}
    for name, value in (provider.custom_headers or {}).items():
        if moved or old_headers.get(name) != value:
            check_allowed(value, allowed, f"{where} header {name}")


def _refuse_kept_secrets(provider: Provider, before: Provider, sent: dict[str, Any]) -> None:
    """Refuse to carry stored secrets to a new origin without the client sending them."""
    resent = set(secret_strings(sent))
    stored = {text for text in secret_strings(before.to_json()) if holds_literal_secret(text)}
    kept = [
        text for text in secret_strings(provider.to_json()) if text in stored and text not in resent
    ]
    if kept:
        raise UsageError(
            f"provider {provider.id}: apiBase moves to another host, so the stored key and "
            "secret header values must be entered again (the masked values are refused for it)",
            "send apiKey (and any secret customHeaders) again with the new apiBase",
        )
