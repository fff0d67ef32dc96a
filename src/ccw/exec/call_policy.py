"""ccw's retry policy around one LiteLLM call, routed or not, chat or embedding.

Retries 429 (honouring Retry-After), 5xx, timeouts and connection errors with backoff, up to
the provider's ``maxRetries``; never 400/401/403, and never once part of an answer was shown.
A routed call (several keys, a pool) moves to another key at once after a refused (401/403)
or rate-limited (429) key, without counting a retry. Every try, wait and key change fits in
one deadline (``--timeout``). The Router itself never retries: this is the only loop.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ccw.exec import events, faults, routing
from ccw.exec.deadline import Deadline
from ccw.exec.faults import ProviderFault
from ccw.exec.key_state import KeyStates
from ccw.exec.target import CallTarget

MAX_RETRY_WAIT_S = 60.0
KEY_FAULTS = (faults.AUTHENTICATION, faults.RATE_LIMIT)  # one key's own: try another key

T = TypeVar("T")


@dataclass
class TryState:
    """What one try learned: the deployments it reached, whether output was shown."""

    seen: list[str] = field(default_factory=list)
    output_started: bool = False
    answered_by: str | None = None


class Tries:
    """How the next try is sent: directly on the one key, or through the Router over the
    deployments not set aside (this call's refused keys, and keys still cooling down)."""

    def __init__(self, litellm: Any, target: CallTarget, states: KeyStates | None) -> None:
        self.litellm = litellm
        self.target = target
        self.states = states
        self.excluded: set[str] = set()
        self.notes: list[str] = []
        ids = [d.id for d in target.deployments]
        cooling = states.cooling(ids) if states is not None and ids else set()
        if cooling and len(cooling) < len(ids):
            self.excluded |= cooling
            self.notes.append("skipping keys cooling down: " + ", ".join(sorted(cooling)))

    def left(self) -> list[str]:
        return [d.id for d in self.target.deployments if d.id not in self.excluded]

    def sender(self, method: str, kwargs: dict[str, Any]) -> Callable[..., Any]:
        """``litellm.<method>`` for a plain call; the Router's for a routed one (``kwargs``
        then names the Router's model group)."""
        if not self.target.routed:
            return getattr(self.litellm, method)  # type: ignore[no-any-return]
        chosen = [d for d in self.target.deployments if d.id not in self.excluded]
        router = routing.router_for(self.litellm, self.target, routing.narrow(self.target, chosen))
        kwargs["model"] = routing.GROUP
        return getattr(router, method)  # type: ignore[no-any-return]

    def succeeded(self, deployment: str | None, latency_ms: int) -> None:
        if self.states is not None and deployment and self.target.routed:
            self.states.success(deployment, latency_ms)

    def failed(self, deployment: str | None, fault: ProviderFault) -> None:
        if self.states is None or not deployment or not self.target.routed:
            return
        health = self.target.health
        self.states.failure(
            deployment,
            fault.message,
            threshold=health.failure_threshold,
            cooldown_s=float(health.cooldown_seconds),
            at_once=fault.fault is faults.AUTHENTICATION,
        )


def with_policy(
    litellm: Any,
    target: CallTarget,
    one_try: Callable[[Tries, float | None, TryState], T],
    *,
    on_event: events.OnEvent = events.ignore,
    deadline: Deadline,
    states: KeyStates | None = None,
    retry: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, int]:
    """Run ``one_try(tries, timeout_of_this_try, state)`` until it succeeds or the policy
    gives up (raising the ``ProviderFault``); returns its value and the number of tries."""
    secrets = target.secrets()
    tries = Tries(litellm, target, states)
    for note in tries.notes:
        on_event(events.Status(note))
    attempt = 0
    count = 0
    while True:
        if deadline.expired():
            raise deadline.fault(target.provider.id, count)
        state = TryState()
        started = time.monotonic()
        count += 1
        try:
            value = one_try(tries, deadline.bound(target.timeout), state)
            tries.succeeded(state.answered_by, int((time.monotonic() - started) * 1000))
            return value, count
        except ProviderFault as exc:
            fault = exc
            failed = state.seen[-1] if state.seen else None
        except Exception as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            fault = faults.classify(exc, secrets=secrets, where=target.provider.id)
            failed = routing.failed_deployment(exc) or (state.seen[-1] if state.seen else None)
        if fault.fault is faults.TIMEOUT and deadline.expired():
            fault = deadline.fault(target.provider.id, count)
        tries.failed(failed, fault)
        if fault.fault is faults.TIMEOUT and deadline.expired():
            raise fault from None
        if target.routed and failed and fault.fault in KEY_FAULTS and not state.output_started:
            tries.excluded.add(failed)
            if tries.left():
                what = fault.kind.replace("_", " ")
                on_event(events.Status(f"{what} on key {failed}; trying another key"))
                continue
        if not (retry and fault.fault.retryable) or state.output_started:
            raise fault from None
        if attempt >= target.max_retries:
            raise fault from None
        wait = fault.retry_after
        if wait is None:
            wait = min(8.0, 0.5 * 2**attempt) * (1 + random.random() / 4)
        if wait > MAX_RETRY_WAIT_S or not deadline.allows_wait(wait):
            raise fault from None
        attempt += 1
        on_event(
            events.Status(
                f"{fault.kind.replace('_', ' ')} from {target.provider.id}; "
                f"retry {attempt}/{target.max_retries} in {wait:.1f} s"
            )
        )
        sleep(wait)
