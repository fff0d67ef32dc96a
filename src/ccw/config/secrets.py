"""``${VAR}`` references, resolved only in memory at call time, and key masking."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from ccw.errors import CcwError, ExitCode

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
MASK_CHAR = "…"


class MissingKeyError(CcwError):
    """A key, or a variable a key refers to, is not available."""

    exit_code = ExitCode.AUTH
    status = 400


def is_reference(value: str | None) -> bool:
    return bool(value) and bool(_REF.search(value or ""))


def resolve(value: str, env: Mapping[str, str] | None = None, what: str = "value") -> str:
    """Replace each ``${VAR}`` or ``${VAR:-default}``; a missing variable is an error."""
    source = os.environ if env is None else env

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = source.get(name)
        if found:
            return found
        if default is not None:
            return default
        raise MissingKeyError(
            f"{what} refers to ${{{name}}}, but the environment variable {name} is not set",
            f"export {name}=... in the shell that runs ccw, or change the reference",
        )

    return _REF.sub(substitute, value)


def mask(value: str | None) -> str | None:
    """Show a key as ``sk-…1234``; environment references are not secrets and stay readable."""
    if value is None or value == "":
        return value
    if is_reference(value) and _REF.sub("", value) == "":
        return value
    tail = value[-4:] if len(value) >= 12 else ""
    head = ""
    dash = value.find("-")
    if 0 < dash <= 4 and len(value) >= 12:
        head = value[: dash + 1]
    return f"{head}{MASK_CHAR}{tail}"


def is_masked(value: str | None) -> bool:
    return bool(value) and MASK_CHAR in (value or "")
