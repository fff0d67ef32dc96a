"""A virtual key for one project, minted on a LiteLLM proxy (``ccw proxy key``).

``POST /key/generate`` with the proxy's admin key: ``max_budget`` (USD), ``duration``
(``30d``, ``12h``...), a ``key_alias`` naming the project, and ``metadata.tags`` with the
project's tag: the proxy adds a key's tags to every request made with it, so its spend is
the project's even from tools that send no tags. The answer's ``key`` is the secret; it is
handed back to be stored, never printed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ccw.config.schema import Config
from ccw.errors import UsageError
from ccw.exec import faults
from ccw.exec.faults import ProviderFault
from ccw.exec.proxy_client import PROJECT_TAG, tag_value
from ccw.exec.proxy_http import access, proxy_provider

GENERATE_PATH = "/key/generate"
DURATION = re.compile(r"\d+(s|m|h|d|w|mo)")


@dataclass(frozen=True)
class MintedKey:
    """A new virtual key; ``key`` is the secret itself."""

    provider_id: str
    project: str
    alias: str
    key: str = field(repr=False)
    max_budget: float
    duration: str
    expires: str | None


def check_request(budget: float, duration: str) -> None:
    if not (budget > 0 and math.isfinite(budget)):
        raise UsageError(f"--budget must be above 0 (USD), not {budget:g}", "e.g. --budget 25")
    if not DURATION.fullmatch(duration):
        raise UsageError(
            f"--duration {duration!r} is not a duration the proxy reads",
            "a number and a unit: 30d, 12h, 90m, 4w or 1mo",
        )


def mint_key(
    config: Config,
    *,
    project: str,
    budget: float,
    duration: str,
    admin_key: str,
    provider_id: str | None = None,
) -> MintedKey:
    """Mint a key for ``project`` on the config's ``litellm-proxy`` provider with
    ``admin_key``. A refused admin key raises ``ProxyRefusedError`` naming the fix."""
    check_request(budget, duration)
    provider = proxy_provider(config, provider_id)
    proxy = access(config, provider, key=admin_key)
    name = tag_value(project)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    alias = f"ccw-{name}-{stamp}"
    body = {
        "key_alias": alias,
        "duration": duration,
        "max_budget": budget,
        "metadata": {"tags": [PROJECT_TAG + name], "ccw_project": name},
    }
    answer = proxy.request(
        "POST",
        GENERATE_PATH,
        body=body,
        refused_fix="minting keys needs the proxy's admin key (its LITELLM_MASTER_KEY): "
        "export it, or name its variable with --admin-key-env VAR",
    )
    key = answer.get("key") if isinstance(answer, dict) else None
    if not isinstance(key, str) or not key:
        raise ProviderFault(
            faults.BAD_RESPONSE, f"{proxy.shown_root}{GENERATE_PATH} answered without a key"
        )
    expires = answer.get("expires")
    return MintedKey(
        provider.id,
        name,
        alias,
        key,
        budget,
        duration,
        expires if isinstance(expires, str) else None,
    )
