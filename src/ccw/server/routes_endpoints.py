"""Endpoints: list, read, add, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ccw.config import manage
from ccw.config.schema import Config, Endpoint
from ccw.server.bodies import EndpointCreate, EndpointUpdate
from ccw.server.state import ServerState, state

router = APIRouter(tags=["endpoints"])


def shown(endpoint: Endpoint, stored: Config) -> dict[str, Any]:
    data = endpoint.to_json()
    data["builtin"] = stored.endpoint(endpoint.id) is None
    data["isDefault"] = stored.default_endpoint == endpoint.id
    return data


@router.get("/endpoints")
def list_endpoints(s: ServerState = Depends(state)) -> dict[str, Any]:
    stored = s.config()
    endpoints = manage.with_builtins(stored.model_copy(deep=True)).endpoints
    return {
        "endpoints": [shown(e, stored) for e in endpoints],
        "count": len(endpoints),
        "defaultEndpoint": stored.default_endpoint,
    }


@router.get("/endpoints/{endpoint_id}")
def get_endpoint(endpoint_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    stored = s.config()
    found = manage.with_builtins(stored.model_copy(deep=True)).endpoint(endpoint_id)
    if found is None:
        raise manage.endpoint_not_found(stored, endpoint_id)
    return shown(found, stored)


@router.post("/endpoints", status_code=201)
def add_endpoint(body: EndpointCreate, s: ServerState = Depends(state)) -> dict[str, Any]:
    endpoint = manage.add_endpoint(s.store, body.present())
    return {"success": True, "endpoint": endpoint.to_json()}


@router.put("/endpoints/{endpoint_id}")
def update_endpoint(
    endpoint_id: str, body: EndpointUpdate, s: ServerState = Depends(state)
) -> dict[str, Any]:
    endpoint = manage.update_endpoint(s.store, endpoint_id, body.given())
    return {"success": True, "endpoint": endpoint.to_json()}


@router.delete("/endpoints/{endpoint_id}")
def delete_endpoint(endpoint_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    manage.remove_endpoint(s.store, endpoint_id)
    return {"success": True}
