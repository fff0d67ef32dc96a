"""Record one key's connection test as a health check would (``ccw.exec.health``)."""

from __future__ import annotations

from pathlib import Path

from ccw.config.schema import HealthCheck, Provider
from ccw.exec.probe import KeyProbe


def record(provider: Provider, config_path: Path, probe: KeyProbe) -> None:
    """The outcome goes into ccw's state dir (never the config file), with the provider's
    failure threshold and cooldown; an authentication failure sets the key aside at once."""
    from ccw.exec.health import states_for

    policy = provider.health_check or HealthCheck()
    states = states_for(config_path)
    deployment = f"{provider.id}/{probe.key_id}"
    result = probe.result
    if result.success:
        states.success(deployment, result.latency_ms, check=True)
        return
    states.failure(
        deployment,
        f"{result.error_kind}: {result.error}",
        threshold=policy.failure_threshold,
        cooldown_s=float(policy.cooldown_seconds),
        at_once=result.error_kind == "authentication",
        check=True,
        latency_ms=result.latency_ms or None,
    )
