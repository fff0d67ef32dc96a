"""Per-key health, kept in ccw's data directory, never in the user's config file.

For each ``provider/key`` of one config file: ``healthStatus`` (healthy, unhealthy, unknown),
``lastHealthCheck``, ``lastError`` (credentials masked), ``lastLatencyMs``, the run of
consecutive failures and ``cooldownUntil``. Calls and health checks both write it; the router
leaves out keys that are cooling down. A key fails "enough" when it reaches the provider's
``healthCheck.failureThreshold``; a refused key (401/403) is set aside at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
UNKNOWN = "unknown"
LOCK_WAIT_S = 2.0


@dataclass
class KeyHealth:
    health_status: str = UNKNOWN
    last_health_check: str | None = None
    last_error: str | None = None
    last_latency_ms: int | None = None
    consecutive_failures: int = 0
    cooldown_until: float | None = None  # epoch seconds

    def cooling(self, now: float | None = None) -> bool:
        return self.cooldown_until is not None and (now or time.time()) < self.cooldown_until

    def to_dict(self) -> dict[str, Any]:
        shown = {
            "healthStatus": self.health_status,
            "lastHealthCheck": self.last_health_check,
            "lastError": self.last_error,
            "lastLatencyMs": self.last_latency_ms,
            "consecutiveFailures": self.consecutive_failures,
            "cooldownUntil": None,
        }
        if self.cooling():
            assert self.cooldown_until is not None
            shown["cooldownUntil"] = _iso(self.cooldown_until)
        return shown


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def state_file(data_dir: Path, config_path: Path) -> Path:
    """One file per config file: provider ids are only unique within one."""
    digest = hashlib.sha256(str(config_path.resolve()).encode()).hexdigest()[:16]
    return data_dir / "provider-health" / f"{digest}.json"


class KeyStates:
    """The health of every key of one config file; reads are lock-free, updates locked."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, KeyHealth]:
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        found: dict[str, KeyHealth] = {}
        if isinstance(raw, dict):
            for deployment_id, fields in raw.items():
                with contextlib.suppress(TypeError):
                    found[deployment_id] = KeyHealth(**fields)
        return found

    def get(self, deployment_id: str) -> KeyHealth:
        return self.read().get(deployment_id, KeyHealth())

    def cooling(self, deployment_ids: list[str]) -> set[str]:
        """Which of ``deployment_ids`` are cooling down now."""
        states = self.read()
        now = time.time()
        return {i for i in deployment_ids if i in states and states[i].cooling(now)}

    def success(self, deployment_id: str, latency_ms: int | None, *, check: bool = False) -> None:
        """A call or check that worked. A call on a key already healthy writes nothing (the
        file is for changes; a health check always records its time and latency)."""
        if not check:
            known = self.read().get(deployment_id)
            if known is not None and known.health_status == HEALTHY and not known.cooldown_until:
                return

        def change(state: KeyHealth) -> None:
            state.health_status = HEALTHY
            state.consecutive_failures = 0
            state.cooldown_until = None
            state.last_error = None
            if latency_ms is not None:
                state.last_latency_ms = latency_ms
            if check:
                state.last_health_check = _iso(time.time())

        self._update(deployment_id, change)

    def failure(
        self,
        deployment_id: str,
        error: str,
        *,
        threshold: int,
        cooldown_s: float,
        at_once: bool = False,
        check: bool = False,
        latency_ms: int | None = None,
    ) -> KeyHealth:
        """Count a failure; at ``threshold`` in a row (or ``at_once``) the key is unhealthy and
        cooling down for ``cooldown_s``. ``error`` must already be masked."""
        result = KeyHealth()

        def change(state: KeyHealth) -> None:
            nonlocal result
            state.consecutive_failures += 1
            state.last_error = error[:300]
            if latency_ms is not None:
                state.last_latency_ms = latency_ms
            if check:
                state.last_health_check = _iso(time.time())
            if at_once or state.consecutive_failures >= threshold:
                state.health_status = UNHEALTHY
                state.cooldown_until = time.time() + cooldown_s
            result = state

        self._update(deployment_id, change)
        return result

    def _update(self, deployment_id: str, change: Any) -> None:
        """Read, change and write one entry under a file lock; a state that cannot be written
        (read-only data dir, a lock held too long) is skipped: it must never fail a call."""
        with contextlib.suppress(OSError, Timeout):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.path) + ".lock", timeout=LOCK_WAIT_S):
                states = self.read()
                state = states.setdefault(deployment_id, KeyHealth())
                change(state)
                tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps({k: asdict(v) for k, v in states.items()}, indent=1))
                os.replace(tmp, self.path)
