"""An endpoint's ``fallbacks``: which endpoints a call may move to, and when.

A call moves on after a rate limit, a server error, a timeout or an unreachable provider, once
its own key choices are used up (no backoff on an endpoint that has a next one: the next one
is the retry). Before anything is sent, a pack too big for an endpoint's context window skips
it for the first one whose window fits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ccw.config.effective import find_endpoint
from ccw.errors import CcwError
from ccw.exec import faults
from ccw.exec.target import CallTarget, context_window, endpoint_target

# By name: an unreachable provider moves on whatever the cause (a refused port, a name that
# does not resolve, a failed TLS handshake), though only some causes are retried in place.
MOVES_ON = frozenset(
    kind.name
    for kind in (faults.RATE_LIMIT, faults.SERVER_ERROR, faults.TIMEOUT, faults.UNREACHABLE)
)


@dataclass(frozen=True)
class Candidate:
    """One endpoint of the chain, resolved, or why it cannot be used."""

    endpoint_id: str
    target: CallTarget | None
    problem: str | None = None


def candidates(primary: CallTarget) -> Iterator[Candidate]:
    """The primary target, then each fallback endpoint (resolved only when reached)."""
    yield Candidate(primary.endpoint.id, primary)
    seen = {primary.endpoint.id}
    config = primary.config
    for endpoint_id in primary.endpoint.fallbacks or ():
        if endpoint_id in seen or config is None:
            continue
        seen.add(endpoint_id)
        try:
            yield Candidate(
                endpoint_id, endpoint_target(config, find_endpoint(config, endpoint_id))
            )
        except CcwError as exc:
            yield Candidate(endpoint_id, None, exc.message)


def fits(target: CallTarget, prompt_tokens: int) -> tuple[bool, int | None]:
    """Whether ``prompt_tokens`` fit the target's context window (unknown windows fit)."""
    window = context_window(target)
    return (window is None or prompt_tokens <= window), window


def moves_on(fault: faults.ProviderFault) -> bool:
    return fault.fault.name in MOVES_ON
