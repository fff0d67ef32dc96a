"""The gateway's request body limit: 1 MiB unless ``CCW_GATEWAY_MAX_BODY`` says otherwise.

``install`` sets it on the app; ``ccw.server.security`` enforces it on every ``/v1`` route
(refused on ``Content-Length`` before any byte is read, else counted as the body streams in).
"""

from __future__ import annotations

import os
import re

from ccw.errors import UsageError

MAX_BODY_ENV = "CCW_GATEWAY_MAX_BODY"
DEFAULT_MAX_BODY = 1024 * 1024
_SIZE = re.compile(r"^\s*(\d+)\s*(|k|kb|kib|m|mb|mib)\s*$", re.I)
_UNIT = {"": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024**2, "mb": 1000**2, "mib": 1024**2}


def max_body_bytes(value: str | None = None) -> int:
    """The limit: ``value`` or ``CCW_GATEWAY_MAX_BODY`` (bytes, or with K/KiB/KB/M/MiB/MB),
    else 1 MiB. Anything else is a usage error naming the variable."""
    text = os.environ.get(MAX_BODY_ENV, "") if value is None else value
    if not text.strip():
        return DEFAULT_MAX_BODY
    found = _SIZE.match(text)
    if found is None or int(found.group(1)) == 0:
        raise UsageError(
            f"{MAX_BODY_ENV}={text!r} is not a size",
            f"set it to bytes or with a unit, e.g. {MAX_BODY_ENV}=4MiB",
        )
    return int(found.group(1)) * _UNIT[found.group(2).lower()]
