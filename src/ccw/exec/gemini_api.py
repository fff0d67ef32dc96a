"""Gemini's ``cachedContents`` resource, called directly (create, extend the TTL, delete).

Requests go only to the provider's own API base, with the key in ``x-goog-api-key`` as
LiteLLM's ``gemini/`` route sends it, the provider's custom headers beside it, through ccw's
guarded HTTP client (``http_guard``: a redirect to another origin is refused, so neither the
key nor a header follows it). Error texts are scrubbed of every credential of the call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from ccw.exec import http_guard
from ccw.exec.redact import scrub

NAME = re.compile(r"cachedContents/[A-Za-z0-9_-]{1,128}")
DEFAULT_TIMEOUT_S = 30.0


class GeminiApiError(Exception):
    """A cachedContents request that failed; ``status`` is None when no answer came."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    @property
    def gone(self) -> bool:
        """The cached content no longer exists for this key (expired, deleted, other key)."""
        return self.status in (403, 404)

    @property
    def too_small(self) -> bool:
        return self.status == 400 and "too small" in self.message.lower()


@dataclass(frozen=True)
class Created:
    name: str
    expires: float
    tokens: int


@dataclass(frozen=True)
class CachedContents:
    """One provider's cachedContents, for one key. Holds the key: never print it."""

    base: str  # the API base, e.g. https://generativelanguage.googleapis.com/v1beta
    api_key: str
    headers: dict[str, str]
    proxies: dict[str, str]
    timeout: float | None = None

    def create(self, model: str, text: str, system: str, ttl_seconds: int, label: str) -> Created:
        body: dict[str, Any] = {
            "model": f"models/{model}",
            "contents": [{"role": "user", "parts": [{"text": text}]}],
            "ttl": f"{ttl_seconds}s",
            "displayName": label[:128],
        }
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        answer = self._send("POST", "cachedContents", json=body)
        name = answer.get("name")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise GeminiApiError("the provider answered a cached content without a usable name")
        usage = answer.get("usageMetadata") or {}
        tokens = usage.get("totalTokenCount") if isinstance(usage, dict) else None
        return Created(name, _expiry(answer), tokens if isinstance(tokens, int) else 0)

    def extend(self, name: str, ttl_seconds: int) -> float:
        """Set the TTL from now; the new expiry."""
        answer = self._send(
            "PATCH", _checked(name), params={"updateMask": "ttl"}, json={"ttl": f"{ttl_seconds}s"}
        )
        return _expiry(answer)

    def delete(self, name: str) -> None:
        self._send("DELETE", _checked(name))

    def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = self.base.rstrip("/") + "/" + path
        headers = {**self.headers, "x-goog-api-key": self.api_key}
        secrets = (self.api_key, *self.headers.values())
        try:
            response = http_guard.client(self.proxies).request(
                method,
                url,
                headers=headers,
                timeout=self.timeout or DEFAULT_TIMEOUT_S,
                follow_redirects=False,
                **kwargs,
            )
        except http_guard.RedirectRefused as error:
            raise GeminiApiError(str(error)) from None
        except httpx.HTTPError as error:
            text = scrub(f"{type(error).__name__}: {error}", secrets) or ""
            where = http_guard.origin(httpx.URL(url))
            raise GeminiApiError(f"no answer from {where} ({text})") from None
        if response.status_code >= 300:
            raise GeminiApiError(
                scrub(f"HTTP {response.status_code}: {_message(response)}", secrets) or "",
                response.status_code,
            )
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            raise GeminiApiError("the provider answered something that is not JSON") from None
        return answer if isinstance(answer, dict) else {}


def _checked(name: str) -> str:
    """A name the provider gave, as a path: nothing else may be requested with the key."""
    if not NAME.fullmatch(name):
        raise GeminiApiError(f"not a cached content name: {name[:80]!r}")
    return name


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return response.reason_phrase or "error"
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:500]
    return response.reason_phrase or "error"


def _expiry(answer: dict[str, Any]) -> float:
    """``expireTime`` (RFC 3339, up to nanoseconds) as epoch seconds."""
    stamp = answer.get("expireTime")
    if not isinstance(stamp, str):
        raise GeminiApiError("the provider answered a cached content without its expireTime")
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp)
    if match is None:
        raise GeminiApiError(f"unreadable expireTime {stamp[:40]!r}")
    whole, fraction, zone = match.groups()
    fraction = (fraction or "0")[:6]
    offset = "+00:00" if zone == "Z" else zone
    parsed = datetime.fromisoformat(f"{whole}.{fraction.ljust(6, '0')}{offset}")
    return parsed.timestamp()
