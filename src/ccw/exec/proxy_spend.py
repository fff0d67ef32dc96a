"""The team's spend on a LiteLLM proxy, by ccw's request tags (``ccw cost --source proxy``).

Every call ccw sends through a ``litellm-proxy`` provider carries ``ccw-project:<name>`` and
``ccw-endpoint:<name>/<endpoint>`` (``ccw.exec.proxy_client``); the proxy keeps each tag's
spend per day in its database and answers it on ``GET /global/spend/tags`` (``start_date``
and ``end_date`` as days, both included): ``{"spend_per_tag": [{"name", "spend",
"log_count"}]}``, spend rounded by the proxy to 4 decimals. The route needs a key allowed to
read spend (the proxy's admin key, or a key given that route); a proxy without a database
keeps no spend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ccw.config.schema import Config
from ccw.errors import CcwError
from ccw.exec import faults
from ccw.exec.faults import ProviderFault
from ccw.exec.proxy_client import ENDPOINT_TAG, PROJECT_TAG, project_name
from ccw.exec.proxy_http import access, proxy_provider

SPEND_PATH = "/global/spend/tags"


class ProxySpendUnavailableError(CcwError):
    """The proxy keeps no spend: it runs without its database."""

    kind = "proxy_spend_unavailable"


@dataclass(frozen=True)
class TagSpend:
    """The spend of one tag: a project, or one endpoint of a project."""

    name: str
    cost: float
    calls: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "cost": self.cost, "calls": self.calls}


@dataclass(frozen=True)
class TeamSpend:
    """What the proxy recorded for ccw's calls from ``since`` (by day) to today.

    ``project`` set: that project's total, and ``by_endpoint`` its endpoints. ``project``
    ``None``: every ccw project's total in ``by_project``, and their sum.
    """

    provider_id: str
    proxy: str  # the proxy's root as configured (``${VAR}`` left in)
    project: str | None
    since: date
    until: date
    cost: float
    calls: int
    by_project: tuple[TagSpend, ...] = ()
    by_endpoint: tuple[TagSpend, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": "proxy",
            "providerId": self.provider_id,
            "proxy": self.proxy,
            "project": self.project,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "cost": self.cost,
            "calls": self.calls,
            "byProject": [t.to_dict() for t in self.by_project],
            "byEndpoint": [t.to_dict() for t in self.by_endpoint],
        }


def _project(project: str | None) -> str | None:
    """The tagged name of a project given by name or by its root folder (the history's)."""
    if not project:
        return None
    return project_name(Path(project)) if "/" in project else project


def _rows(body: Any, shown: str) -> list[TagSpend]:
    rows = body.get("spend_per_tag") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise ProviderFault(
            faults.BAD_RESPONSE, f"{shown} did not answer spend_per_tag; is it a LiteLLM proxy?"
        )
    found: list[TagSpend] = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            continue
        spend, count = row.get("spend"), row.get("log_count")
        cost = float(spend) if isinstance(spend, int | float) and math.isfinite(spend) else 0.0
        calls = count if isinstance(count, int) and not isinstance(count, bool) else 0
        found.append(TagSpend(row["name"], cost, calls))
    return found


def read_team_spend(config: Config, since: datetime, project: str | None) -> TeamSpend:
    """The team's spend for ``project`` (a name or its root folder; ``None``: all ccw
    projects) on the config's ``litellm-proxy`` provider, from ``since``'s day to today.

    Raises ``UsageError`` without such a provider, ``ProxyRefusedError`` when its key may
    not read spend, ``ProxySpendUnavailableError`` when the proxy has no database, and a
    ``ProviderFault`` when it cannot be reached.
    """
    provider = proxy_provider(config)
    proxy = access(config, provider)
    start = (since.astimezone(UTC) if since.tzinfo else since).date()
    until = datetime.now(UTC).date()
    name = _project(project)
    shown = proxy.shown_root + SPEND_PATH
    refused_fix = (
        "reading spend needs the proxy's admin key or a key allowed /global/spend/tags: "
        f"ccw provider update {provider.id} --api-key '${{ADMIN_KEY_VAR}}', "
        "or ask the proxy's admin"
    )
    try:
        body = proxy.request(
            "GET",
            SPEND_PATH,
            params={"start_date": start.isoformat(), "end_date": until.isoformat()},
            refused_fix=refused_fix,
        )
    except ProviderFault as exc:
        lowered = exc.message.lower()
        if exc.fault is faults.SERVER_ERROR and ("db" in lowered or "database" in lowered):
            raise ProxySpendUnavailableError(
                f"the proxy at {proxy.shown_root} keeps no spend: it runs without a database",
                "start the proxy with DATABASE_URL set (ccw config export --litellm-proxy "
                "--compose DIR writes a setup with Postgres)",
            ) from None
        raise
    rows = _rows(body, shown)
    projects = tuple(r for r in rows if r.name.startswith(PROJECT_TAG))
    if name is not None:
        own = [r for r in projects if r.name == PROJECT_TAG + name]
        prefix = f"{ENDPOINT_TAG}{name}/"
        endpoints = tuple(r for r in rows if r.name.startswith(prefix))
        total = own[0] if own else TagSpend(PROJECT_TAG + name, 0.0, 0)
        return TeamSpend(
            provider.id,
            proxy.shown_root,
            name,
            start,
            until,
            round(total.cost, 8),
            total.calls,
            tuple(own),
            endpoints,
        )
    return TeamSpend(
        provider.id,
        proxy.shown_root,
        None,
        start,
        until,
        round(sum(r.cost for r in projects), 8),
        sum(r.calls for r in projects),
        projects,
    )
