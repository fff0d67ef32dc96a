"""Model pools (``modelPools``), the original's embedding pool and model discovery.

A pool is several providers (and their keys) serving one model as one ``--model`` id; ccw
calls it through LiteLLM's Router (``ccw.exec.deployments``). Pools are one list: an edit
goes to the config file that defines ``modelPools`` (the project's when both do), else to the
default file.
"""

from __future__ import annotations

import secrets
from typing import Any, get_args

from fastapi import APIRouter, Body, Depends
from pydantic import ValidationError

from ccw.config.effective import effective_config
from ccw.config.schema import Config, EmbeddingPoolConfig, ModelKind, ModelPool
from ccw.config.store import ConfigStore
from ccw.errors import ConflictError, NotFoundError, UsageError
from ccw.server.state import ServerState, state

router = APIRouter(tags=["pools"])
MODEL_KINDS: tuple[str, ...] = get_args(ModelKind)


def _invalid(exc: ValidationError, what: str) -> UsageError:
    where = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5]
    )
    return UsageError(f"invalid {what}: {where}", "fix the fields named and send it again")


def _pool_missing(pool_id: str, config: Config) -> NotFoundError:
    known = ", ".join(p.id for p in config.model_pools or ()) or "none yet"
    return NotFoundError(f"model pool not found: {pool_id}", f"known pools: {known}")


def _kind(model_type: str) -> str:
    if model_type not in MODEL_KINDS:
        raise NotFoundError(
            f"unknown model type: {model_type}", "one of: " + ", ".join(MODEL_KINDS)
        )
    return model_type


def _pool_store(s: ServerState) -> ConfigStore:
    """The file whose ``modelPools`` the merged config shows."""
    for layer in reversed(s.layers.layers):
        if layer.store.exists() and layer.store.load().model_pools is not None:
            return layer.store
    return s.layers.store_for(None)


def _new_id(config: Config, model_type: str) -> str:
    taken = {p.id for p in config.model_pools or ()}
    while True:
        candidate = f"pool-{model_type}-{secrets.token_hex(3)}"
        if candidate not in taken:
            return candidate


def _validated(data: dict[str, Any]) -> ModelPool:
    try:
        return ModelPool.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, "model pool") from None


@router.get("/model-pools")
async def list_pools(s: ServerState = Depends(state)) -> dict[str, Any]:
    pools = [p.to_json() for p in s.config().model_pools or ()]
    return {"pools": pools, "count": len(pools)}


@router.get("/model-pools/available-models/{model_type}")
async def available_models(model_type: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    found = available_of(s.config(), _kind(model_type))
    return {"availableModels": found, "modelType": model_type}


def discover(config: Config, model_type: str, target: str) -> list[dict[str, Any]]:
    """The enabled providers whose ``model_type`` models name ``target``, with their keys
    (ids and labels only)."""
    found = []
    for provider in effective_config(config).providers:
        if not provider.enabled:
            continue
        model = provider.model_definition(target, model_type)
        if model is None or not model.enabled:
            continue
        keys = [
            {"keyId": e.id, "keyLabel": e.label or e.id, "enabled": e.enabled}
            for e in provider.api_keys or ()
        ] or [{"keyId": "default", "keyLabel": "Default", "enabled": True}]
        found.append(
            {
                "providerId": provider.id,
                "providerName": provider.name or provider.id,
                "modelId": model.id,
                "modelName": model.name or model.id,
                "models": [model.id],
                "apiKeys": keys,
            }
        )
    return found


@router.get("/model-pools/discover/{model_type}/{target_model}")
async def discover_pool(
    model_type: str, target_model: str, s: ServerState = Depends(state)
) -> dict[str, Any]:
    found = discover(s.config(), _kind(model_type), target_model)
    return {
        "modelType": model_type,
        "targetModel": target_model,
        "discovered": found,
        "count": len(found),
    }


@router.get("/model-pools/{pool_id}")
async def get_pool(pool_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    config = s.config()
    pool = config.pool(pool_id)
    if pool is None:
        raise _pool_missing(pool_id, config)
    return {"pool": pool.to_json()}


@router.post("/model-pools", status_code=201)
def create_pool(
    body: dict[str, Any] = Body(...), s: ServerState = Depends(state)
) -> dict[str, Any]:
    """The page sends a pool without ``id``: one is made (``pool-<type>-<hex>``)."""
    store = _pool_store(s)
    with store.edit() as config:
        data = dict(body)
        pool_id = data.get("id") or _new_id(config, str(data.get("modelType", "llm")))
        data["id"] = pool_id
        pool = _validated(data)
        if config.pool(pool.id) is not None:
            raise ConflictError(f"model pool {pool.id} exists", "choose another id or PUT it")
        config.model_pools = [*(config.model_pools or ()), pool]
    return {"success": True, "poolId": pool.id, "pool": pool.to_json()}


@router.put("/model-pools/{pool_id}")
def update_pool(
    pool_id: str, body: dict[str, Any] = Body(...), s: ServerState = Depends(state)
) -> dict[str, Any]:
    store = _pool_store(s)
    with store.edit() as config:
        pools = list(config.model_pools or ())
        index = next((i for i, p in enumerate(pools) if p.id == pool_id), None)
        if index is None:
            raise _pool_missing(pool_id, config)
        pools[index] = _validated({**pools[index].to_json(), **body, "id": pool_id})
        config.model_pools = pools
    return {"success": True, "poolId": pool_id, "pool": pools[index].to_json()}


@router.delete("/model-pools/{pool_id}")
def delete_pool(pool_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    store = _pool_store(s)
    with store.edit() as config:
        pools = [p for p in config.model_pools or () if p.id != pool_id]
        if len(pools) == len(config.model_pools or ()):
            raise _pool_missing(pool_id, config)
        config.model_pools = pools
    return {"success": True, "poolId": pool_id}


def available_of(config: Config, model_kind: str) -> list[dict[str, Any]]:
    """Every enabled model of a kind across enabled providers, with who offers it."""
    found: dict[str, dict[str, Any]] = {}
    for provider in effective_config(config).providers:
        if not provider.enabled:
            continue
        for model in provider.models_of(model_kind):
            if model.enabled:
                entry = found.setdefault(
                    model.id,
                    {"modelId": model.id, "modelName": model.name or model.id, "providers": []},
                )
                entry["providers"].append(provider.name or provider.id)
    return list(found.values())


@router.get("/embedding-pool")
async def get_embedding_pool(s: ServerState = Depends(state)) -> dict[str, Any]:
    config = s.config()
    pool = config.embedding_pool_config
    return {
        "poolConfig": pool.to_json() if pool else None,
        "availableModels": available_of(config, "embedding"),
    }


@router.put("/embedding-pool")
def put_embedding_pool(
    body: dict[str, Any] | None = Body(default=None), s: ServerState = Depends(state)
) -> dict[str, Any]:
    """Set the embedding pool (``ccw embed`` uses it without ``--model``); ``null`` removes it."""
    pool: EmbeddingPoolConfig | None = None
    if body:
        try:
            pool = EmbeddingPoolConfig.model_validate(body)
        except ValidationError as exc:
            raise _invalid(exc, "embedding pool") from None
    with s.layers.store_for(None).edit() as config:
        config.embedding_pool_config = pool
    return {"success": True, "poolConfig": pool.to_json() if pool else None}


@router.get("/reranker-pool")
async def reranker_pool(s: ServerState = Depends(state)) -> dict[str, Any]:
    return {"availableModels": available_of(s.config(), "reranker")}


@router.get("/embedding-pool/discover/{target_model}")
async def discover_embedding(target_model: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    found = discover(s.config(), "embedding", target_model)
    return {"targetModel": target_model, "discovered": found, "count": len(found)}
