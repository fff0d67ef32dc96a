"""Provider key health: what the background checks recorded, and a check run now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ccw.server.state import ServerState, state

router = APIRouter(tags=["health"])


@router.get("/key-health")
def all_health(s: ServerState = Depends(state)) -> dict[str, Any]:
    """Every provider's keys with their recorded health (keys never shown)."""
    from ccw.exec.health import report

    providers = report(s.config(), s.store.path)
    return {"providers": providers, "count": len(providers)}


@router.get("/providers/{provider_id}/health")
def provider_health(provider_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    from ccw.exec.health import report

    return report(s.config(), s.store.path, provider_id)[0]


@router.post("/providers/{provider_id}/health/check")
def check_now(provider_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    """Test each enabled key of the provider now and record the outcome."""
    from ccw.exec.health import check_provider

    return check_provider(s.config(), s.store.path, provider_id)
