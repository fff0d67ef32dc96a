"""In process: the pack's budget in a window, the early stop, and the break-even arithmetic
of the prompt-cache advice."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ccw.context.api import build_context
from ccw.context.fit import FittedContext, PackTooLarge
from ccw.context.request import ContextRequest, ContextResult
from ccw.exec import events
from ccw.exec.advice import Candidate, advise
from ccw.exec.window import Window, sized

BASE = Candidate(
    role="endpoint",
    endpoint_id="e",
    provider_id="p",
    provider_type="anthropic",
    model="anthropic/claude-sonnet-4-5",
    context_window=200_000,
    ttl_minutes=5,
    caching=True,
    embedded=False,
)


def _candidate(**changes: Any) -> Candidate:
    return replace(BASE, **changes)


def test_budget_leaves_the_rest_of_the_input_and_the_answer() -> None:
    assert Window(10_000, 300, 1000).budget() == 8_700
    assert Window(2_048, 10, 4096).budget() == 2_048 - 10 - 1_024  # at most half the window
    assert Window(None, 10, 100).budget() is None
    assert Window(100, 500, 10).budget() == 0


def test_break_even_by_ttl() -> None:
    short = advise(_candidate(), 10_000, 9_000)
    long = advise(_candidate(ttl_minutes=60), 10_000, 9_000)
    assert (short.ttl, long.ttl) == ("5m", "1h")
    assert short.first_call is not None and long.first_call is not None
    assert long.first_call > short.first_call  # a one-hour write costs more
    assert short.break_even == 2 and long.break_even == 3
    assert short.repeat_call == long.repeat_call


def test_an_unpriced_model_has_no_costs_and_the_local_model_is_free() -> None:
    unpriced = advise(_candidate(provider_type="custom", model="openai/mine"), 5000, 4000)
    assert unpriced.first_call is None and unpriced.break_even is None
    local = advise(_candidate(provider_type="local", model="openai/smollm2", embedded=True), 10, 5)
    assert (local.first_call, local.repeat_call, local.style) == (0.0, 0.0, "none")


def _pack(tmp_path: Path) -> tuple[ContextRequest, ContextResult]:
    (tmp_path / "a.py").write_text("def a():\n    return 1\n" * 200)
    request = ContextRequest(prompt="@a.py go", root=tmp_path, use_cache=False)
    return request, build_context(request)


def test_sending_a_pack_past_every_window_stops(tmp_path: Path) -> None:
    request, ctx = _pack(tmp_path)
    too_small = Window(500, 5, 100)
    with pytest.raises(PackTooLarge, match="nothing was sent"):
        sized(ctx, request, too_small, fit=False, sending=True, model="m", on_event=events.ignore)
    # Planning only, or a fallback with room (or an unknown window): no stop.
    for window, sending in ((too_small, False), (Window(500, 5, 100, [None]), True)):
        kept = sized(
            ctx, request, window, fit=False, sending=sending, model="m", on_event=events.ignore
        )
        assert kept is ctx


def test_fit_says_what_it_did(tmp_path: Path) -> None:
    heard: list[events.Event] = []
    (tmp_path / "a.py").write_text("def a():\n    return 1\n" * 200)
    (tmp_path / "b.txt").write_text("x\n" * 3000)
    request = ContextRequest(prompt="@a.py @*.txt go", root=tmp_path, use_cache=False)
    ctx = build_context(request)
    fitted = sized(
        ctx, request, Window(2000, 5, 100), fit=True, sending=True, model="m", on_event=heard.append
    )
    assert isinstance(fitted, FittedContext)
    assert [(s.path, s.reason) for s in fitted.shortened] == [("b.txt", "first 40 of 3000 lines")]
    assert any(isinstance(e, events.Status) and "--fit: the pack shrank" in e.text for e in heard)


def test_fit_with_no_room_left_for_the_pack_stops(tmp_path: Path) -> None:
    request, ctx = _pack(tmp_path)
    full = Window(1000, 900, 4096)  # the prompt and the answer's room fill it
    with pytest.raises(PackTooLarge, match="no room left for the pack"):
        sized(ctx, request, full, fit=True, sending=True, model="m", on_event=events.ignore)
