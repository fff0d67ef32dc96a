"""ccw as a LiteLLM proxy's client: what a call on a ``litellm-proxy`` provider adds.

- Each call carries the project and the endpoint as request tags (``metadata.tags`` in the
  body, which the proxy merges with its key's and team's tags), so that the proxy's spend
  can be grouped by project: ``ccw-project:<name>`` and ``ccw-endpoint:<name>/<id>``.
- The proxy prices each call itself: a whole answer carries the ``x-litellm-response-cost``
  header (LiteLLM's SDK keeps it among the response's hidden headers, prefixed
  ``llm_provider-``); a stream carries ``usage.cost`` in its last chunk when the proxy runs
  with ``include_cost_in_streaming_usage`` (the exported config sets it). That price is the
  call's cost in ccw's ledger, marked ``costSource: "proxy"``.
- The model list, the model-info route and the health route, read with plain httpx (no
  LiteLLM import) for ``ccw provider test`` and ``ccw endpoint add --discover``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_TAG = "ccw-project:"
ENDPOINT_TAG = "ccw-endpoint:"
COST_HEADER = "x-litellm-response-cost"
HEALTH_PATH = "/health/readiness"  # answers without calling a model
MODEL_INFO_PATHS = ("/model/info", "/v1/model/info")
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def project_name(root: Path) -> str:
    """The name a project is tagged with on the proxy: its root folder's name."""
    return tag_value(root.name or "project")


def tag_value(text: str) -> str:
    """A tag part without commas or spaces (the proxy splits header tags on commas)."""
    return _TAG_UNSAFE.sub("-", text).strip("-") or "project"


def tags(project: str | None, endpoint_id: str) -> list[str]:
    """The request tags of one call: the project, and the endpoint within the project (an
    endpoint id means something only in its project's config)."""
    endpoint = tag_value(endpoint_id)
    if not project:
        return [f"{ENDPOINT_TAG}{endpoint}"]
    name = tag_value(project)
    return [f"{PROJECT_TAG}{name}", f"{ENDPOINT_TAG}{name}/{endpoint}"]


def tag_call(kwargs: dict[str, Any], project: str | None, endpoint_id: str) -> None:
    """Add the call's tags to ``kwargs`` as ``extra_body.metadata.tags``, kept beside any
    metadata or tags a caller's ``-o extra_body=...`` already holds."""
    body = dict(kwargs.get("extra_body") or {})
    metadata = dict(body.get("metadata") or {})
    present = [t for t in metadata.get("tags") or [] if isinstance(t, str)]
    metadata["tags"] = [*present, *(t for t in tags(project, endpoint_id) if t not in present)]
    body["metadata"] = metadata
    kwargs["extra_body"] = body


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def response_cost(response: Any) -> float | None:
    """The proxy's price of a whole answer, from its response-cost header; ``None`` when
    the proxy sent none (it could not price the model)."""
    hidden = getattr(response, "_hidden_params", None) or {}
    headers = hidden.get("additional_headers") if isinstance(hidden, Mapping) else None
    if not isinstance(headers, Mapping):
        return None
    for name in (f"llm_provider-{COST_HEADER}", COST_HEADER):
        if name in headers:
            return _number(headers[name])
    return None


def usage_cost(usage: Any) -> float | None:
    """The proxy's price of a stream, from ``usage.cost`` in its last chunk."""
    if usage is None:
        return None
    value = usage.get("cost") if isinstance(usage, Mapping) else getattr(usage, "cost", None)
    return _number(value) if value is not None else None


def keyless_refusal(status: int, message: str) -> str | None:
    """What a proxy without its database means by answering a key it does not know with
    HTTP 400 "No connected db.": only its master key works there (virtual keys live in the
    database). ``None`` for any other answer."""
    if status == 400 and "connected db" in message.lower():
        return (
            "the proxy refused the key: it runs without its database, so only its master "
            "key works (virtual keys need DATABASE_URL)"
        )
    return None


def root_url(base: str) -> str:
    """The proxy's root: its apiBase without a trailing ``/v1`` (its admin routes, health
    and spend live at the root)."""
    base = base.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


@dataclass(frozen=True)
class ProxyModel:
    """One model group of the proxy, as its model-info route describes it."""

    name: str
    context_window: int | None
    max_output_tokens: int | None
    prompt_caching: bool | None
    mode: str | None
    deployments: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "contextWindow": self.context_window,
            "maxOutputTokens": self.max_output_tokens,
            "promptCaching": self.prompt_caching,
            "mode": self.mode,
            "deployments": self.deployments,
        }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def parse_model_info(body: Any) -> list[ProxyModel]:
    """The model groups of a ``/model/info`` answer, one per name, in the proxy's order.

    A group of several deployments takes the smallest context window of its deployments
    (a call may land on any) and prompt caching only when every deployment supports it.
    """
    rows = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(rows, list):
        raise ValueError("no data list")
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if not isinstance(row, Mapping) or not isinstance(row.get("model_name"), str):
            continue
        info = row.get("model_info")
        groups.setdefault(row["model_name"], []).append(info if isinstance(info, Mapping) else {})
    found = []
    for name, infos in groups.items():
        windows = [w for w in (_int(i.get("max_input_tokens")) for i in infos) if w]
        outputs = [w for w in (_int(i.get("max_output_tokens")) for i in infos) if w]
        caching = [i.get("supports_prompt_caching") for i in infos]
        modes = {i.get("mode") for i in infos if isinstance(i.get("mode"), str)}
        found.append(
            ProxyModel(
                name=name,
                context_window=min(windows) if windows else None,
                max_output_tokens=min(outputs) if outputs else None,
                prompt_caching=_all_of(caching),
                mode=modes.pop() if len(modes) == 1 else None,
                deployments=len(infos),
            )
        )
    return found


def _all_of(flags: list[Any]) -> bool | None:
    """False when any deployment says no, True when every one says yes, else unknown."""
    if any(flag is False for flag in flags):
        return False
    return True if flags and all(flag is True for flag in flags) else None
