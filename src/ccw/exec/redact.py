"""Keep a call's credentials out of every error text, whatever the provider echoes back.

Providers often echo the request in an error body (``Authorization: Bearer sk-...``), and
echo it in pieces: the token without its ``Bearer`` scheme, or one part of a header value.
So the secret set holds each credential whole and each of its long parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ccw.config.secrets import MissingKeyError, mask, resolve

MIN_WHOLE = 6  # shorter custom header values ("qa", "1") are not secrets and too common
MIN_PART = 8  # words of a secret this long are secrets on their own
_WORDS = re.compile(r"[\s,;]+")
_NOT_SECRETS = {"no-key"}  # the placeholder sent to servers that need no key


def secret_parts(value: str) -> list[str]:
    """``value`` and its words of ``MIN_PART`` characters or more."""
    return [value, *(word for word in _WORDS.split(value) if len(word) >= MIN_PART)]


def secrets_of(target: Any) -> tuple[str, ...]:
    """Every credential a call target carries: its key, each ``apiKeys[]`` entry of its
    provider, and each custom header value (``${VAR}`` references resolved), longest first."""
    return credential_set(
        getattr(target, "api_key", None),
        getattr(target, "provider", None),
        getattr(target, "headers", None) or {},
    )


def credential_set(key: str | None, provider: Any, headers: dict[str, str]) -> tuple[str, ...]:
    """The key, the provider's ``apiKeys[]`` entries and the resolved header values, each
    whole and in its long parts, longest first: what no message may show."""
    found: list[str] = []
    if key and key not in _NOT_SECRETS:
        found += secret_parts(key)
    for entry in api_key_values(provider):
        found += secret_parts(entry)
    for value in headers.values():
        if isinstance(value, str) and len(value) >= MIN_WHOLE:
            found += secret_parts(value)
    return tuple(sorted(set(found), key=len, reverse=True))


def api_key_values(provider: Any) -> Iterable[str]:
    """The resolved ``apiKeys[]`` entries of a provider, enabled or not (a disabled key is
    still a secret); entries whose variable is unset are left out."""
    resolved: list[str] = []
    for entry in getattr(provider, "api_keys", None) or ():
        try:
            value = resolve(entry.key)
        except MissingKeyError:
            continue
        if value:
            resolved.append(value)
    return resolved


def scrub(text: str | None, secrets: tuple[str, ...]) -> str | None:
    """``text`` with every secret masked (``sk-…1234``), the longest first."""
    if not text or not secrets:
        return text
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, mask(secret) or "…")
    return text
