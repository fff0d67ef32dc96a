"""``--timeout S``: one deadline for a whole call, retries, other keys and fallbacks included."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ccw.exec import faults
from ccw.exec.faults import ProviderFault

MIN_TRY_S = 0.05  # a try with less time left than this is not started


@dataclass
class Deadline:
    """``seconds`` from creation; ``None`` means no deadline (each try has its own timeout)."""

    seconds: float | None
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float | None:
        if self.seconds is None:
            return None
        return self.seconds - (time.monotonic() - self.started)

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left < MIN_TRY_S

    def bound(self, per_try: float | None) -> float | None:
        """A try's timeout: its own, cut to what is left of the deadline."""
        left = self.remaining()
        if left is None:
            return per_try
        left = max(left, MIN_TRY_S)
        return min(per_try, left) if per_try else left

    def allows_wait(self, seconds: float) -> bool:
        left = self.remaining()
        return left is None or seconds + MIN_TRY_S < left

    def fault(self, where: str, attempts: int) -> ProviderFault:
        tries = f" ({attempts} tries)" if attempts > 1 else ""
        return ProviderFault(
            faults.TIMEOUT,
            f"{where}: no complete answer within --timeout {self.seconds:g} s{tries}",
            fix="raise --timeout, or check that the provider is answering",
        )
