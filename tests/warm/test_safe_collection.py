"""The warm server collects garbage only between calls (CPython 3.10/3.11 can crash when a
collection starts inside ``ContextVar.set`` and a finalizer sets a context variable, as
LiteLLM's stream wrappers do): automatic collection is off, each ended call collects."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ccw.exec import collector

PROBE = textwrap.dedent(
    """
    import gc
    from ccw.exec import collector

    collected = []

    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            collected.append(1)

    collector.take_over()
    print(gc.isenabled())
    for _ in range(50_000):  # far past any automatic threshold
        Cycle()
    print(len(collected))
    collector.after_call()
    print(len(collected))
    """
)


@pytest.mark.skipif(not collector.needed(), reason="Python 3.12+ collects at safe points")
def test_cycles_wait_for_the_end_of_a_call() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    enabled, before, after = done.stdout.split()
    assert enabled == "False"
    assert before == "0"  # nothing collected while a call could be inside ContextVar.set
    assert after == "50000"  # the call's end collected them all
