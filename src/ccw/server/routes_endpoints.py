"""Endpoints: list, read, add, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from ccw.config import manage, redact
from ccw.config.effective import effective_config, find_endpoint
from ccw.config.provenance import provenance_of
from ccw.config.schema import Config, Endpoint
from ccw.server.bodies import SCOPE_HELP, EndpointCreate, EndpointUpdate, ScopeName, chosen_scope
from ccw.server.state import ServerState, state

router = APIRouter(tags=["endpoints"])


def masked(endpoint: Endpoint) -> dict[str, Any]:
    """An endpoint holds no key of its own, but a kept unknown field may: masked too."""
    data: dict[str, Any] = redact.masked(endpoint.to_json())
    return data


ScopeQuery = Query(default=None, description=SCOPE_HELP)


def shown(endpoint: Endpoint, config: Config) -> dict[str, Any]:
    """An endpoint as the API shows it: built-in and default marked, and the config file it
    comes from (``source``: user, project, config or built-in)."""
    data = masked(endpoint)
    data["builtin"] = endpoint.id not in _stored_ids(config)
    data["isDefault"] = config.default_endpoint == endpoint.id
    provenance = provenance_of(config)
    if provenance is not None:
        data["source"] = provenance.endpoint_source(endpoint.id)
    return data


def _stored_ids(config: Config) -> set[str]:
    return {e.id for e in config.endpoints}


@router.get("/endpoints")
async def list_endpoints(s: ServerState = Depends(state)) -> dict[str, Any]:
    config = s.config()
    endpoints = effective_config(config).endpoints
    return {
        "endpoints": [shown(e, config) for e in endpoints],
        "count": len(endpoints),
        "defaultEndpoint": config.default_endpoint,
    }


@router.get("/endpoints/{endpoint_id}")
async def get_endpoint(endpoint_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    config = s.config()
    return shown(find_endpoint(config, endpoint_id), config)


@router.post("/endpoints", status_code=201)
def add_endpoint(
    body: EndpointCreate, scope: ScopeName | None = ScopeQuery, s: ServerState = Depends(state)
) -> dict[str, Any]:
    target = s.layers.store_for(chosen_scope(scope, body))
    endpoint = manage.add_endpoint(target, body.present(), others=s.layers.others(target))
    return {"success": True, "endpoint": masked(endpoint)}


@router.put("/endpoints/{endpoint_id}")
def update_endpoint(
    endpoint_id: str,
    body: EndpointUpdate,
    scope: ScopeName | None = ScopeQuery,
    s: ServerState = Depends(state),
) -> dict[str, Any]:
    target = s.layers.store_holding("endpoint", endpoint_id, chosen_scope(scope, body))
    others = s.layers.others(target)
    endpoint = manage.update_endpoint(target, endpoint_id, body.given(), others=others)
    return {"success": True, "endpoint": masked(endpoint)}


@router.delete("/endpoints/{endpoint_id}")
def delete_endpoint(
    endpoint_id: str, scope: ScopeName | None = ScopeQuery, s: ServerState = Depends(state)
) -> dict[str, Any]:
    target = s.layers.store_holding("endpoint", endpoint_id, scope)
    manage.remove_endpoint(target, endpoint_id, others=s.layers.others(target))
    return {"success": True}
