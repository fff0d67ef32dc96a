"""Providers: list, read, add, update, delete, test the connection; model suggestions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from ccw.config import manage
from ccw.config.effective import effective_config, find_provider
from ccw.config.provenance import provenance_of
from ccw.config.providers import KINDS
from ccw.config.schema import PROVIDER_TYPES, Config, Provider
from ccw.errors import NotFoundError
from ccw.server.bodies import SCOPE_HELP, ProviderCreate, ProviderUpdate, ScopeName, chosen_scope
from ccw.server.encoded import encoded_response
from ccw.server.state import ServerState, state

router = APIRouter(tags=["providers"])


ScopeQuery = Query(default=None, description=SCOPE_HELP)


def shown(provider: Provider, stored_ids: set[str], source: str | None = None) -> dict[str, Any]:
    """A provider as the API shows it: key masked, built-in ones marked, and the config
    file it comes from (``source``: user, project, config or built-in)."""
    data = manage.masked_provider(provider)
    data["builtin"] = provider.id not in stored_ids
    if source is not None:
        data["source"] = source
    return data


def _source(config: Config, provider_id: str) -> str | None:
    provenance = provenance_of(config)
    return provenance.provider_source(provider_id) if provenance else None


def _listed(config: Config) -> dict[str, Any]:
    stored = {p.id for p in config.providers}
    providers = effective_config(config).providers
    listed = [shown(p, stored, _source(config, p.id)) for p in providers]
    return {"providers": listed, "count": len(providers)}


# Reads that only stat (and, after a change, parse) the config run on the event loop.
@router.get("/providers")
async def list_providers(request: Request) -> Response:
    """Every provider, keys masked: encoded once per change of the config files."""
    s: ServerState = request.app.state.ccw  # not Depends(state): a sync dependency is a thread hop
    stamp = s.config_stamp()
    return await encoded_response(request, "providers", stamp, lambda: _listed(s.config()))


@router.get("/providers/{provider_id}")
async def get_provider(provider_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    config = s.config()
    stored = {p.id for p in config.providers}
    return shown(find_provider(config, provider_id), stored, _source(config, provider_id))


@router.post("/providers", status_code=201)
def add_provider(
    body: ProviderCreate, scope: ScopeName | None = ScopeQuery, s: ServerState = Depends(state)
) -> dict[str, Any]:
    target = s.layers.store_for(chosen_scope(scope, body))
    others = s.layers.others(target)
    provider = manage.add_provider(target, body.present(), via_api=True, others=others)
    return {"success": True, "provider": manage.masked_provider(provider)}


@router.put("/providers/{provider_id}")
def update_provider(
    provider_id: str,
    body: ProviderUpdate,
    scope: ScopeName | None = ScopeQuery,
    s: ServerState = Depends(state),
) -> dict[str, Any]:
    target = s.layers.store_holding("provider", provider_id, chosen_scope(scope, body))
    others = s.layers.others(target)
    provider = manage.update_provider(
        target, provider_id, body.given(), via_api=True, others=others
    )
    return {"success": True, "provider": manage.masked_provider(provider)}


@router.delete("/providers/{provider_id}")
def delete_provider(
    provider_id: str, scope: ScopeName | None = ScopeQuery, s: ServerState = Depends(state)
) -> dict[str, Any]:
    target = s.layers.store_holding("provider", provider_id, scope)
    removed = manage.remove_provider(target, provider_id, others=s.layers.others(target))
    return {
        "success": True,
        "message": f"provider {provider_id} deleted",
        "deletedEndpoints": removed,
    }


@router.post("/providers/{provider_id}/test")
def test_provider(
    provider_id: str, key_id: str | None = None, s: ServerState = Depends(state)
) -> dict[str, Any]:
    """One real, cheap request per enabled key (or only ``?key_id=``) with the stored
    credentials; any request body is ignored."""
    from ccw.exec.probe import probe_provider

    config = s.config()
    tested = probe_provider(config, provider_id, key_id=key_id).to_dict()
    return {**tested, "provider": find_provider(config, provider_id).type}


# Types the original page lists under other names.
TYPE_ALIASES = {"google": "gemini"}


@router.get("/models/{provider_type}")
async def list_models(provider_type: str) -> dict[str, Any]:
    """The models a type usually offers, as ``{id, name, provider, description}``."""
    name = TYPE_ALIASES.get(provider_type, provider_type)
    if name not in KINDS:
        known = [*PROVIDER_TYPES, *TYPE_ALIASES]
        raise NotFoundError(
            f"unknown provider type: {provider_type}", "one of: " + ", ".join(known)
        )
    models = [
        {"id": model, "name": model, "provider": provider_type, "description": ""}
        for model in KINDS[name].models
    ]
    return {"providerType": provider_type, "models": models, "count": len(models)}


@router.get("/provider-types")
async def provider_types() -> dict[str, Any]:
    """What the page needs to help fill a provider form."""
    types = [
        {
            "type": name,
            "keyEnv": kind.key_env,
            "needsKey": kind.needs_key,
            "needsBase": kind.needs_base,
            "defaultBase": kind.default_base,
            "models": list(kind.models),
        }
        for name, kind in KINDS.items()
    ]
    return {"types": types, "count": len(types)}
