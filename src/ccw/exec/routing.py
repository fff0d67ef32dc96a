"""LiteLLM's Router over a target's deployments: strategy, weights, rpm/tpm, cooldowns.

One Router per set of deployments and policy, kept for the life of the process (the server,
a library user, the batches of one ``ccw embed``), so that its latency and busy statistics and
its cooldowns carry over between calls. The Router never retries (``num_retries=0``): ccw's
own retry policy runs once, around it (``ccw.exec.call_policy``). A key's cooldown also lives
in ccw's state (``ccw.exec.key_state``) so that the next process skips it too.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ccw.exec.connection import litellm_params
from ccw.exec.deployments import Deployment

if TYPE_CHECKING:
    from ccw.exec.target import CallTarget

GROUP = "ccw"  # the one model group each Router serves
MAX_ROUTERS = 32  # a long-lived process keeps the most recent ones
_routers: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


def _litellm_params(deployment: Deployment, weighted: bool) -> dict[str, Any]:
    conn = deployment.conn
    params = litellm_params(
        deployment.model,
        deployment.api_key,
        api_base=conn.api_base,
        headers=conn.headers,
        organization=conn.organization,
        api_version=conn.api_version,
    )
    params["max_retries"] = 0
    if conn.rpm:
        params["rpm"] = conn.rpm
    if conn.tpm:
        params["tpm"] = conn.tpm
    if weighted and deployment.weight:
        params["weight"] = deployment.weight
    if deployment.max_concurrent:
        params["max_parallel_requests"] = deployment.max_concurrent
    return params


def model_list(target: CallTarget, deployments: list[Deployment]) -> list[dict[str, Any]]:
    """The Router's ``model_list``: one entry per deployment, its id ``provider/key``."""
    return [
        {
            "model_name": GROUP,
            "litellm_params": _litellm_params(d, target.weighted),
            "model_info": {"id": d.id},
        }
        for d in deployments
    ]


def _signature(target: CallTarget, deployments: list[Deployment]) -> tuple[Any, ...]:
    """What makes two Routers the same; the key is in it only as an in-memory hash."""
    return (
        target.router_strategy,
        target.weighted,
        target.health.failure_threshold,
        target.health.cooldown_seconds,
        tuple(
            (
                d.id,
                d.model,
                hash(d.api_key),
                d.conn.api_base,
                tuple(sorted(d.conn.headers.items())),
                d.conn.rpm,
                d.conn.tpm,
                d.weight,
                d.max_concurrent,
            )
            for d in deployments
        ),
    )


def narrow(target: CallTarget, deployments: list[Deployment]) -> list[Deployment]:
    """The deployments the Router chooses among: for ``cost-based`` the cheapest by input
    price (LiteLLM's cost routing selects on its async path only; an unpriced model counts as
    the dearest, as LiteLLM counts it), else all of them."""
    if target.strategy != "cost-based" or len(deployments) < 2:
        return deployments
    from ccw.exec.pricing import input_cost

    def price(d: Deployment) -> float:
        found = input_cost(d.provider.type, d.model, 1_000_000)
        return found if found is not None else float("inf")

    cheapest = min(price(d) for d in deployments)
    return [d for d in deployments if price(d) == cheapest]


def router_for(litellm: Any, target: CallTarget, deployments: list[Deployment]) -> Any:
    """The Router over ``deployments``: a key is cooled down after
    ``healthCheck.failureThreshold`` failures (a refused key, 401/403, after one) for
    ``healthCheck.cooldownSeconds``."""
    signature = _signature(target, deployments)
    with _lock:
        found = _routers.get(signature)
        if found is not None:
            return found
        from litellm.types.router import AllowedFailsPolicy

        threshold = target.health.failure_threshold
        router = litellm.Router(
            model_list=model_list(target, deployments),
            routing_strategy=target.router_strategy,
            num_retries=0,
            allowed_fails=threshold - 1,
            allowed_fails_policy=AllowedFailsPolicy(AuthenticationErrorAllowedFails=0),
            cooldown_time=float(target.health.cooldown_seconds),
        )
        _routers[signature] = router
        while len(_routers) > MAX_ROUTERS:
            del _routers[next(iter(_routers))]
        return router


def answered_by(response: Any) -> str | None:
    """The deployment id (``provider/key``) a Router response or stream came from."""
    hidden = getattr(response, "_hidden_params", None)
    if isinstance(hidden, dict):
        found = hidden.get("model_id")
        return str(found) if found else None
    return None


def failed_deployment(exc: BaseException) -> str | None:
    """The deployment id a Router error names, if any."""
    found = getattr(exc, "failed_deployment_id", None)
    return str(found) if found else None
