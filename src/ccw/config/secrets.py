"""``${VAR}`` references, resolved only in memory at call time, and key masking.

A value may mix references and literal text (``Bearer ${TOKEN}``, ``${VAR:-fallback}``). The
literal part is what the file itself holds: masking and the literal-key warning judge it, the
references stay readable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from ccw.errors import CcwError, ExitCode

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MASK_CHAR = "…"
# Literal text around a reference that is an auth scheme, not a secret: ``Bearer ${TOKEN}``.
_SCHEME_WORDS = re.compile(r"^\s*(bearer|basic|token|apikey|key)?\s*$", re.IGNORECASE)
ALLOW_ENV_FIX = "ccw config allow-env {name}"
# The caller's environment for one call a warm server runs (``ccw.warm``): while set, it
# stands in for ``os.environ`` in this context only (a thread of the server), never stored.
_CALLER_ENV: ContextVar[Mapping[str, str] | None] = ContextVar("ccw_caller_env", default=None)


class MissingKeyError(CcwError):
    """A key, or a variable a key refers to, is not available."""

    kind = "missing_key"
    exit_code = ExitCode.AUTH


class EnvNotAllowedError(MissingKeyError):
    """A value refers to an environment variable the user has not allowed for that field."""

    kind = "env_not_allowed"
    exit_code = ExitCode.CONFIG


def is_reference(value: str | None) -> bool:
    return bool(value) and bool(_REF.search(value or ""))


def referenced_names(value: str | None) -> list[str]:
    """The variable names a value refers to, in order."""
    return [match.group(1) for match in _REF.finditer(value or "")]


def literal_part(value: str | None) -> str:
    """What the value holds besides references: the text around them and their defaults."""
    if not value:
        return ""
    defaults = "".join(match.group(2) or "" for match in _REF.finditer(value))
    return _REF.sub("", value) + defaults


def holds_literal_secret(value: str | None) -> bool:
    """True when the file itself holds key material: a literal, or a ``${VAR:-literal}``."""
    if not value:
        return False
    if not is_reference(value):
        return True
    outside = _REF.sub("", value)
    defaults = [match.group(2) for match in _REF.finditer(value) if match.group(2)]
    return bool(defaults) or not _SCHEME_WORDS.match(outside)


def check_allowed(value: str, allowed: Collection[str], what: str) -> None:
    """Refuse a value that refers to a variable outside ``allowed``."""
    for name in referenced_names(value):
        if name not in allowed:
            raise EnvNotAllowedError(
                f"{what} refers to ${{{name}}}, which is not in the config's allowedEnvVars",
                "allow it from the command line: " + ALLOW_ENV_FIX.format(name=name),
            )


def resolve(
    value: str,
    env: Mapping[str, str] | None = None,
    what: str = "value",
    allowed: Collection[str] | None = None,
) -> str:
    """Replace each ``${VAR}`` or ``${VAR:-default}``; a missing variable is an error.

    With ``allowed``, a reference to any other variable is refused before anything is read.
    Without ``env``, a name is looked up in the environment, then in the key store.
    """
    if allowed is not None:
        check_allowed(value, allowed, what)

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = env.get(name) if env is not None else lookup(name)
        if found:
            return found
        if default is not None:
            return default
        raise MissingKeyError(
            f"{what} refers to ${{{name}}}, but {name} is neither set in the environment "
            "nor stored with ccw keys",
            f"ccw keys set {name} (kept out of every repository), or export {name}=... "
            "in the shell that runs ccw",
        )

    return _REF.sub(substitute, value)


@contextmanager
def caller_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Resolve references with ``values`` (a caller's environment) instead of this process's
    environment, for the calls made in the current context only."""
    token = _CALLER_ENV.set(dict(values))
    try:
        yield
    finally:
        _CALLER_ENV.reset(token)


def environment_value(name: str) -> str | None:
    """A variable of the environment the call belongs to: the caller's while a warm server
    runs it (``caller_environment``), else this process's."""
    overlay = _CALLER_ENV.get()
    return overlay.get(name) if overlay is not None else os.environ.get(name)


def lookup(name: str) -> str | None:
    """A variable's value: the environment first, then the key store (``ccw keys``). The
    value stays in memory: it is never put into ``os.environ``."""
    found = environment_value(name)
    if found:
        return found
    from ccw.config.keystore import stored_key

    return stored_key(name)


def _mask_literal(value: str) -> str:
    tail = value[-4:] if len(value) >= 12 else ""
    head = ""
    dash = value.find("-")
    if 0 < dash <= 4 and len(value) >= 12:
        head = value[: dash + 1]
    return f"{head}{MASK_CHAR}{tail}"


def mask(value: str | None) -> str | None:
    """Show a key as ``sk-…1234``; references stay readable, their literal parts are masked
    (``${UNSET:-sk-live-…}`` shows as ``${UNSET:-sk-…1234}``)."""
    if value is None or value == "":
        return value
    if not is_reference(value):
        return _mask_literal(value)
    pieces: list[str] = []
    last = 0
    for match in _REF.finditer(value):
        pieces.append(_mask_outside(value[last : match.start()]))
        name, default = match.group(1), match.group(2)
        if default:
            pieces.append(f"${{{name}:-{_mask_literal(default)}}}")
        elif default is not None:
            pieces.append(f"${{{name}:-}}")
        else:
            pieces.append(f"${{{name}}}")
        last = match.end()
    pieces.append(_mask_outside(value[last:]))
    return "".join(pieces)


def _mask_outside(text: str) -> str:
    return text if _SCHEME_WORDS.match(text) else _mask_literal(text)


def is_masked(value: object) -> bool:
    return isinstance(value, str) and MASK_CHAR in value
