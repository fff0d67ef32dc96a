"""Health, and the change stamp the page polls to refresh when something changed elsewhere."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ccw import __version__
from ccw.server.state import ServerState, state

router = APIRouter(tags=["meta"])


@router.get("/health")
async def health(s: ServerState = Depends(state)) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": __version__,
        "configPath": str(s.store.path),
        "projectRoot": str(s.project_root),
        "listen": s.listen,
        "history": True,
    }


@router.get("/changes")
def changes(s: ServerState = Depends(state)) -> dict[str, Any]:
    """Opaque stamps that differ whenever the config file or the cache changed."""
    stamps = {"config": s.config_stamp(), "cache": s.cache_stamp()}
    with s.open_history() as history:
        newest = history.list(limit=1)
    stamps["history"] = str(newest[0].get("id")) if newest else ""
    return stamps
