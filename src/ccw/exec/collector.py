"""Garbage collection at safe points only, for a long-running process that makes LiteLLM calls.

CPython 3.10 and 3.11 can crash (a use-after-free in the context-variable map, CPython issue
148891) when a collection starts inside ``ContextVar.set`` and a finalizer it runs sets a
context variable again. LiteLLM's stream wrappers do exactly that from ``__del__``, and
they are collected in cycles: a warm server crashed so about every 2,000 calls. Here the
automatic collector is off and each call, once it has ended, runs a young collection (a
full one every ``FULL_EVERY`` calls): no collection can then start inside a
``ContextVar.set``, in any thread.
"""

from __future__ import annotations

import gc
import sys
import threading

FULL_EVERY = 200

_lock = threading.Lock()
_calls = 0
_active = False


def needed() -> bool:
    """Whether this interpreter has the crash (3.12 moved collections to safe points)."""
    return sys.version_info < (3, 12)


def take_over() -> None:
    """Turn the automatic collector off in this process: ``after_call`` collects instead."""
    global _active
    if needed():
        gc.disable()
        _active = True


def after_call() -> None:
    """A call ended: collect its garbage now, at a point where that is safe."""
    global _calls
    if not _active:
        return
    with _lock:
        _calls += 1
        full = _calls % FULL_EVERY == 0
    if full:
        gc.collect()
    else:
        gc.collect(1)
