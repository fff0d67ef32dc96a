"""Health checks of provider keys: one cheap request per key (its model list), the outcome
kept in ccw's state (``ccw.exec.key_state``), never in the user's config file.

``check_provider`` runs one round now (``ccw provider health ID --check``); ``run_background``
is the loop ``ccw serve`` runs for providers with ``healthCheck.enabled``, each at most once per
``intervalSeconds``. Plain httpx through ``ccw.exec.probe``: no litellm.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccw.config.effective import effective_config, find_provider
from ccw.config.schema import Config, HealthCheck, Provider
from ccw.exec.deployments import DEFAULT_KEY_ID
from ccw.exec.key_state import KeyHealth, KeyStates, state_file
from ccw.exec.probe import KeyProbe, probe_provider

TICK_S = 1.0  # how often the loop looks for a provider that is due


def states_for(config_path: Path) -> KeyStates:
    from ccw.paths import data_dir

    return KeyStates(state_file(data_dir(), config_path))


def check_provider(config: Config, config_path: Path, provider_id: str) -> dict[str, Any]:
    """Test every enabled key of a provider once, record each outcome, return the report."""
    provider = find_provider(config, provider_id)
    states = states_for(config_path)
    for probe in probe_provider(config, provider_id).keys:
        record_probe(provider, states, probe)
    return provider_report(provider, states.read())


def record_probe(provider: Provider, states: KeyStates, probe: KeyProbe) -> None:
    """One key's test, recorded as a health check: with the provider's failure threshold and
    cooldown; an authentication failure sets the key aside at once."""
    policy = provider.health_check or HealthCheck()
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


def provider_report(provider: Provider, states: dict[str, KeyHealth]) -> dict[str, Any]:
    """A provider's keys and their recorded health (no key value, errors already masked)."""
    entries = [(e.id, e.label, e.enabled) for e in provider.api_keys or ()]
    if not entries:
        entries = [(DEFAULT_KEY_ID, None, True)]
    check = provider.health_check
    return {
        "providerId": provider.id,
        "healthCheck": check.to_json() if check else None,
        "keys": [
            {
                "keyId": key_id,
                "label": label,
                "enabled": enabled,
                **states.get(f"{provider.id}/{key_id}", KeyHealth()).to_dict(),
            }
            for key_id, label, enabled in entries
        ],
    }


def report(
    config: Config, config_path: Path, provider_id: str | None = None
) -> list[dict[str, Any]]:
    """The recorded health of one provider, or of every provider."""
    states = states_for(config_path).read()
    if provider_id is not None:
        return [provider_report(find_provider(config, provider_id), states)]
    return [provider_report(p, states) for p in effective_config(config).providers]


def due(config: Config, last_run: dict[str, float], now: float) -> list[str]:
    """Providers whose health check is on and whose interval has passed since their last run."""
    found = []
    for provider in config.providers:
        check = provider.health_check
        if not (provider.enabled and check and check.enabled):
            continue
        last = last_run.get(provider.id)
        if last is None or now - last >= check.interval_seconds:
            found.append(provider.id)
    return found


async def run_background(
    load: Callable[[], Config], config_path: Path, stop: asyncio.Event
) -> None:
    """Check each provider with ``healthCheck.enabled`` now, then once per its interval, until
    ``stop`` is set. The config is read again each tick, so edits take effect."""
    last_run: dict[str, float] = {}
    while not stop.is_set():
        try:
            config = load()
        except Exception:  # a config broken while serving: try again next tick
            config = None
        if config is not None:
            for provider_id in due(config, last_run, time.monotonic()):
                last_run[provider_id] = time.monotonic()
                try:
                    await asyncio.to_thread(check_provider, config, config_path, provider_id)
                except Exception:  # one provider's failure never stops the others' checks
                    continue
                if stop.is_set():
                    return
        try:
            await asyncio.wait_for(stop.wait(), TICK_S)
        except TimeoutError:
            continue
