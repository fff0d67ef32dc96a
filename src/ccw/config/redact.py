"""Masking every key-like value of a provider, known field or kept unknown field, and putting
the stored values back when a client returns them masked.

A value is key-like when its field name says so (``apiKey``, ``key``, ``token``, ...), when it
sits in a headers map (``customHeaders`` at any depth), or when it has a well-known key shape.
"""

from __future__ import annotations

import re
from typing import Any

from ccw.config.secrets import is_masked, mask
from ccw.errors import UsageError

_SECRET_NAME = re.compile(
    r"(^|_|-|[a-z])(key|keys|secret|password|passwd|token|credentials?|authorization|cookie)$"
    r"|^(key|secret|password|token|authorization|cookie|credentials?)",
    re.IGNORECASE,
)
_HEADERS_NAME = re.compile(r"headers$", re.IGNORECASE)
_KEY_SHAPE = re.compile(
    r"^\s*(bearer\s+|basic\s+)?(sk|pk|rk|xai|gsk|ghp|gho|hf|AIza|AKIA)[-_A-Za-z0-9]{12,}",
    re.IGNORECASE,
)
NOT_SECRET = frozenset({"apiKeySource", "allowedEnvVars", "keyEnv"})
# Inside a secret object (an ``apiKeys`` entry), the fields that describe rather than hold it.
DESCRIPTIVE = frozenset({"id", "label", "name", "weight", "enabled", "type", "description"})


def _secret_field(name: str) -> bool:
    return name not in NOT_SECRET and bool(_SECRET_NAME.search(name))


def _child_secret(name: str, parent_secret: bool) -> bool:
    if parent_secret and name not in DESCRIPTIVE:
        return True
    return _secret_field(name) or bool(_HEADERS_NAME.search(name))


def masked(data: Any, secret: bool = False) -> Any:
    """A copy of ``data`` with every key-like string masked."""
    if isinstance(data, dict):
        return {key: masked(value, _child_secret(str(key), secret)) for key, value in data.items()}
    if isinstance(data, list):
        return [masked(item, secret) for item in data]
    if isinstance(data, str) and (secret or _KEY_SHAPE.match(data)):
        return mask(data)
    return data


def restore_field(name: str, sent: Any, stored: Any) -> Any:
    """The value of field ``name`` as sent by a client, masked parts put back (see
    ``restore``)."""
    return restore(sent, stored, name, _child_secret(name, False))


def restore(sent: Any, stored: Any, where: str, secret: bool = False) -> Any:
    """``sent`` with each masked string that matches the stored value at the same place
    replaced by it; list entries that are objects are matched by their ``id``. In a secret
    place, a masked value with nothing stored behind it is refused: the real value must be
    sent. Elsewhere an ellipsis is just text."""
    if isinstance(sent, str) and is_masked(sent):
        if isinstance(stored, str) and sent == mask(stored):
            return stored
        if secret:
            raise UsageError(
                f"{where} looks masked and matches no stored value",
                "send the real value or a ${VAR} reference, or leave the field out to keep it",
            )
        return sent
    if isinstance(sent, dict):
        old = stored if isinstance(stored, dict) else {}
        return {
            k: restore(v, old.get(k), f"{where}.{k}", _child_secret(str(k), secret))
            for k, v in sent.items()
        }
    if isinstance(sent, list):
        old_list = stored if isinstance(stored, list) else []
        by_id = {
            item.get("id"): item
            for item in old_list
            if isinstance(item, dict) and item.get("id") is not None
        }
        result = []
        for index, item in enumerate(sent):
            if isinstance(item, dict) and item.get("id") is not None:
                previous: Any = by_id.get(item["id"])
            else:
                previous = old_list[index] if index < len(old_list) else None
            result.append(restore(item, previous, f"{where}[{index}]", secret))
        return result
    return sent


def secret_strings(data: Any, secret: bool = False) -> list[str]:
    """Every key-like string of ``data``: what a reply must never show in clear."""
    if isinstance(data, dict):
        found: list[str] = []
        for key, value in data.items():
            found += secret_strings(value, _child_secret(str(key), secret))
        return found
    if isinstance(data, list):
        return [text for item in data for text in secret_strings(item, secret)]
    if isinstance(data, str) and data and (secret or _KEY_SHAPE.match(data)):
        return [data]
    return []


def key_material(data: Any, secret: bool = False, in_headers: bool = False) -> list[str]:
    """The strings of ``data`` that are keys: values of key-named fields (``apiKey``,
    ``apiKeys[].key``), header values whose header name says so (``Authorization``,
    ``X-Api-Key``), and key-shaped strings. A plain header such as ``X-Team: qa`` is not."""
    if isinstance(data, dict):
        found: list[str] = []
        for key, value in data.items():
            name = str(key)
            if in_headers:
                found += key_material(value, _secret_field(name) or secret)
            else:
                child = (secret and name not in DESCRIPTIVE) or _secret_field(name)
                found += key_material(value, child, bool(_HEADERS_NAME.search(name)))
        return found
    if isinstance(data, list):
        return [text for item in data for text in key_material(item, secret, in_headers)]
    if isinstance(data, str) and data and (secret or _KEY_SHAPE.match(data)):
        return [data]
    return []
