"""The gateway's bearer token: made on first use, kept in the user data folder (mode 0600)."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from ccw.paths import data_dir

TOKEN_FILE = "gateway-token"
PREFIX = "ccw-"


def token_path() -> Path:
    return data_dir() / TOKEN_FILE


def gateway_token(path: Path | None = None) -> str:
    """The stored token, made (atomically, 0600 in a 0700 folder) when there is none yet."""
    where = path or token_path()
    try:
        return _read(where)
    except FileNotFoundError:
        pass
    where.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    made = PREFIX + secrets.token_urlsafe(32)
    try:
        fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: theirs is the token
        return _read(where)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(made + "\n")
    return made


def _read(path: Path) -> str:
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        raise FileNotFoundError(path)
    return text


def bearer(headers: dict[str, str]) -> str | None:
    """The token a request carries: ``Authorization: Bearer`` or Anthropic's ``x-api-key``."""
    value = headers.get("authorization", "")
    if value[:7].lower() == "bearer ":
        return value[7:].strip()
    return headers.get("x-api-key") or None


def matches(sent: str | None, token: str) -> bool:
    return sent is not None and hmac.compare_digest(sent.encode(), token.encode())
