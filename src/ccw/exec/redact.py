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
    found: list[str] = []
    key = getattr(target, "api_key", None)
    if key and key not in _NOT_SECRETS:
        found += secret_parts(key)
    provider = getattr(target, "provider", None)
    for entry in _api_keys(provider):
        found += secret_parts(entry)
    for value in (getattr(target, "headers", None) or {}).values():
        if isinstance(value, str) and len(value) >= MIN_WHOLE:
            found += secret_parts(value)
    return tuple(sorted(set(found), key=len, reverse=True))


def _api_keys(provider: Any) -> Iterable[str]:
    """The resolved ``apiKeys[]`` entries (strings, or objects with ``key``/``apiKey``)."""
    extra = getattr(provider, "model_extra", None) or {}
    entries = extra.get("apiKeys")
    if not isinstance(entries, list):
        return []
    raw: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            raw.append(entry)
        elif isinstance(entry, dict):
            raw += [v for k, v in entry.items() if k in ("key", "apiKey") and isinstance(v, str)]
    resolved: list[str] = []
    for value in raw:
        try:
            resolved.append(resolve(value))
        except MissingKeyError:
            continue
    return [value for value in resolved if value]


def scrub(text: str | None, secrets: tuple[str, ...]) -> str | None:
    """``text`` with every secret masked (``sk-…1234``), the longest first."""
    if not text or not secrets:
        return text
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, mask(secret) or "…")
    return text
