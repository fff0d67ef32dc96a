"""The config as a LiteLLM proxy ``config.yaml``: preview it, or write it beside the config
file (``POST /config/sync``). No key or header value is ever in it (``ccw.exec.proxy_yaml``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ccw.exec.proxy_yaml import proxy_config
from ccw.server.state import ServerState, state

router = APIRouter(tags=["config"])
PROXY_FILE = "litellm-proxy.yaml"


def _exports(exports: dict[str, str]) -> list[dict[str, str]]:
    return [{"variable": name, "for": where} for name, where in exports.items()]


@router.get("/config/yaml-preview")
def yaml_preview(s: ServerState = Depends(state)) -> dict[str, Any]:
    found = proxy_config(s.config())
    return {"success": True, "config": found.text, "exports": _exports(found.exports)}


@router.post("/config/sync")
def sync(s: ServerState = Depends(state)) -> dict[str, Any]:
    """Write the proxy config next to the project's config file (atomically)."""
    found = proxy_config(s.config())
    target = s.store.path.parent / PROXY_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{PROXY_FILE}.tmp")
    partial.write_text(found.text, encoding="utf-8")
    partial.replace(target)
    return {
        "success": True,
        "message": f"LiteLLM proxy config written to {target}",
        "yamlPath": str(target),
        "exports": _exports(found.exports),
    }
