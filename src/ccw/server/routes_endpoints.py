"""Endpoints: list, read, add, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ccw.config import manage, redact
from ccw.config.effective import effective_config, find_endpoint
from ccw.config.schema import Config, Endpoint
from ccw.server.bodies import EndpointCreate, EndpointUpdate
from ccw.server.state import ServerState, state

router = APIRouter(tags=["endpoints"])


def masked(endpoint: Endpoint) -> dict[str, Any]:
    """An endpoint holds no key of its own, but a kept unknown field may: masked too."""
    data: dict[str, Any] = redact.masked(endpoint.to_json())
    return data


def shown(endpoint: Endpoint, stored_ids: set[str], default: str | None) -> dict[str, Any]:
    data = masked(endpoint)
    data["builtin"] = endpoint.id not in stored_ids
    data["isDefault"] = default == endpoint.id
    return data


def _stored_ids(config: Config) -> set[str]:
    return {e.id for e in config.endpoints}


@router.get("/endpoints")
async def list_endpoints(s: ServerState = Depends(state)) -> dict[str, Any]:
    config = s.config()
    stored, default = _stored_ids(config), config.default_endpoint
    endpoints = effective_config(config).endpoints
    return {
        "endpoints": [shown(e, stored, default) for e in endpoints],
        "count": len(endpoints),
        "defaultEndpoint": default,
    }


@router.get("/endpoints/{endpoint_id}")
async def get_endpoint(endpoint_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    config = s.config()
    stored = _stored_ids(config)
    found = find_endpoint(config, endpoint_id)
    return shown(found, stored, config.default_endpoint)


@router.post("/endpoints", status_code=201)
def add_endpoint(body: EndpointCreate, s: ServerState = Depends(state)) -> dict[str, Any]:
    endpoint = manage.add_endpoint(s.store, body.present())
    return {"success": True, "endpoint": masked(endpoint)}


@router.put("/endpoints/{endpoint_id}")
def update_endpoint(
    endpoint_id: str, body: EndpointUpdate, s: ServerState = Depends(state)
) -> dict[str, Any]:
    endpoint = manage.update_endpoint(s.store, endpoint_id, body.given())
    return {"success": True, "endpoint": masked(endpoint)}


@router.delete("/endpoints/{endpoint_id}")
def delete_endpoint(endpoint_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    manage.remove_endpoint(s.store, endpoint_id)
    return {"success": True}
