"""The original dashboard's key and health routes, with its shapes, over ccw's own checks.

``test-key`` and ``health-check-now`` test keys the way ``POST /providers/{id}/test`` and
``/health/check`` do (one cheap model-list request per key, no litellm); health is kept in
ccw's state dir, never written into the config file. The ``codexlens/rotation`` routes belong
to another tool of the original and answer a 404 that says so.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict

from ccw.config.effective import find_provider
from ccw.config.manage import now_iso
from ccw.errors import NotFoundError, UsageError
from ccw.server.state import ServerState, state

router = APIRouter(tags=["compat"])


class TestKeyBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    keyId: str | None = None  # the page's field name


def _keys(report: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    """ccw's per-key health in the original's per-key shape, ccw's fields kept beside."""
    return [
        {
            **key,
            "label": key.get("label") or labels.get(key["keyId"]) or key["keyId"],
            "status": key.get("healthStatus") or "unknown",
            "lastCheck": key.get("lastHealthCheck"),
            "inCooldown": key.get("cooldownUntil") is not None,
            "consecutiveFailures": key.get("consecutiveFailures") or 0,
        }
        for key in report["keys"]
    ]


def _labels(s: ServerState, provider_id: str) -> tuple[str, dict[str, str]]:
    provider = find_provider(s.config(), provider_id)
    return provider.name or provider.id, {
        e.id: e.label or e.id for e in provider.api_keys or () if e.label
    }


@router.post("/providers/{provider_id}/test-key")
def test_key(
    provider_id: str, body: TestKeyBody = Body(...), s: ServerState = Depends(state)
) -> dict[str, Any]:
    """Test one key (``keyId``; ``default`` is a provider's single ``apiKey``) and record
    the outcome as a health check would."""
    from ccw.exec.health import record_probe, states_for
    from ccw.exec.probe import probe_provider

    if not body.keyId:
        raise UsageError("keyId is required", 'send {"keyId": "<key id>"}')
    name, labels = _labels(s, provider_id)
    config = s.config()
    probe = probe_provider(config, provider_id, key_id=body.keyId).keys[0]
    record_probe(find_provider(config, provider_id), states_for(s.store.path), probe)
    result = probe.result
    return {
        "valid": result.success,
        "error": result.error,
        "errorKind": result.error_kind,
        "latencyMs": result.latency_ms if result.success else None,
        "keyLabel": labels.get(body.keyId, "Default" if body.keyId == "default" else body.keyId),
        "keyId": body.keyId,
        "providerId": provider_id,
        "providerName": name,
    }


@router.get("/providers/{provider_id}/health-status")
def health_status(provider_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    from ccw.exec.health import report

    name, labels = _labels(s, provider_id)
    found = report(s.config(), s.store.path, provider_id)[0]
    return {"providerId": provider_id, "providerName": name, "keys": _keys(found, labels)}


@router.post("/providers/{provider_id}/health-check-now")
def health_check_now(provider_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    from ccw.exec.health import check_provider

    name, labels = _labels(s, provider_id)
    found = check_provider(s.config(), s.store.path, provider_id)
    return {
        "success": True,
        "providerId": provider_id,
        "providerName": name,
        "keys": _keys(found, labels),
        "checkedAt": now_iso(),
    }


ROTATION_GONE = (
    "the codexlens rotation routes belong to another tool (CodexLens), not to ccw",
    "configure an embedding pool instead: GET/PUT /api/litellm-api/embedding-pool, "
    "or /api/litellm-api/model-pools",
)


def _rotation_gone() -> None:
    raise NotFoundError(*ROTATION_GONE)


for _path, _methods in (
    ("/codexlens/rotation", ["GET", "PUT"]),
    ("/codexlens/rotation/endpoints", ["GET"]),
    ("/codexlens/rotation/sync", ["POST"]),
):
    router.add_api_route(_path, _rotation_gone, methods=_methods, include_in_schema=False)
