"""The whole config (masked), the global cache settings and the default endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from ccw.config import manage
from ccw.config.schema import GlobalCacheSettings
from ccw.server.bodies import (
    SCOPE_HELP,
    CacheSettingsUpdate,
    DefaultEndpointBody,
    ScopeName,
    chosen_scope,
)
from ccw.server.state import ServerState, state

router = APIRouter(tags=["config"])


@router.get("/config")
async def get_config(s: ServerState = Depends(state)) -> dict[str, Any]:
    """The merged config (user file beneath the project's), keys masked."""
    return manage.masked_config(s.config())


@router.get("/config/files")
async def config_files(s: ServerState = Depends(state)) -> dict[str, Any]:
    """The config files read, in order (later ones win), and the scope each one is."""
    files = [
        {"scope": layer.scope, "path": str(layer.store.path), "exists": layer.store.exists()}
        for layer in s.layers.layers
    ]
    return {"files": files, "defaultScope": s.layers.scope_of(s.layers.store_for(None))}


class CacheSettingsForm(CacheSettingsUpdate):
    """The page's form starts with ``cacheDir: ""``: an empty folder means the default."""

    cache_dir: str | None = Field(
        default=None,
        description="A folder: absolute, ~/... or relative to the project; no $ expansion. "
        "Empty: the default folder.",
    )


@router.put("/config/cache")
def update_cache_settings(
    body: CacheSettingsForm, s: ServerState = Depends(state)
) -> dict[str, Any]:
    changes = body.present()
    if changes.get("cacheDir") == "":
        changes["cacheDir"] = GlobalCacheSettings().cache_dir
    settings = manage.update_cache_settings(s.store, changes, via_api=True).to_json()
    return {"success": True, "settings": settings, "globalCacheSettings": settings}


@router.put("/config/default-endpoint")
def set_default_endpoint(
    body: DefaultEndpointBody,
    scope: ScopeName | None = Query(default=None, description=SCOPE_HELP),
    s: ServerState = Depends(state),
) -> dict[str, Any]:
    target = s.layers.store_for(chosen_scope(scope, body))
    manage.set_default_endpoint(target, body.endpoint_id, others=s.layers.others(target))
    return {"success": True, "defaultEndpoint": body.endpoint_id}
