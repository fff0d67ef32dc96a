"""The whole config (masked), the global cache settings and the default endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ccw.config import manage
from ccw.server.bodies import CacheSettingsUpdate, DefaultEndpointBody
from ccw.server.state import ServerState, state

router = APIRouter(tags=["config"])


@router.get("/config")
async def get_config(s: ServerState = Depends(state)) -> dict[str, Any]:
    return manage.masked_config(s.config())


@router.put("/config/cache")
def update_cache_settings(
    body: CacheSettingsUpdate, s: ServerState = Depends(state)
) -> dict[str, Any]:
    settings = manage.update_cache_settings(s.store, body.present(), via_api=True)
    return {"success": True, "globalCacheSettings": settings.to_json()}


@router.put("/config/default-endpoint")
def set_default_endpoint(
    body: DefaultEndpointBody, s: ServerState = Depends(state)
) -> dict[str, Any]:
    manage.set_default_endpoint(s.store, body.endpoint_id)
    return {"success": True, "defaultEndpoint": body.endpoint_id}
