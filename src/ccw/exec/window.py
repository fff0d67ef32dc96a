"""A pack against the model's context window, before anything is sent: fitted to it
(``--fit``), or a call that cannot fit stopped with the advice to fit it.

The pack's budget is the window less the rest of the input (prompt, piped input, system
prompt, earlier turns) and the room the answer may take (``max_tokens``, at most half the
window, so that a small model keeps room for a pack).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ccw.exec import events

if TYPE_CHECKING:
    from ccw.context.api import ContextRequest, ContextResult

DEFAULT_ANSWER_TOKENS = 4096  # what a call asks for without maxTokens (``litellm_call``)
MIN_PACK_TOKENS = 64  # less room than this leaves --fit nothing worth sending


@dataclass(frozen=True)
class Window:
    """The model's window (None: unknown) and what besides the pack fills it."""

    tokens: int | None
    other_tokens: int  # prompt, input, system prompt, earlier turns
    answer_tokens: int  # max_tokens
    # The windows of the endpoints a call may move to when the first is too small.
    fallbacks: Sequence[int | None] = ()

    def budget(self) -> int | None:
        """Tokens the pack may take (None: the window is unknown)."""
        if self.tokens is None:
            return None
        room = min(self.answer_tokens, self.tokens // 2)
        return max(self.tokens - self.other_tokens - room, 0)


def sized(
    ctx: ContextResult,
    request: ContextRequest,
    window: Window,
    *,
    fit: bool,
    sending: bool,
    model: str,
    on_event: events.OnEvent,
) -> ContextResult:
    """The pack to send: fitted to the window with ``fit``; otherwise as it is, unless it
    is being sent (``sending``) and fits neither the window nor any fallback's, which
    raises ``PackTooLarge`` (nothing is sent)."""
    from ccw.context.fit import PackTooLarge, fit_context

    budget = window.budget()
    if fit:
        if budget is None:
            on_event(
                events.Warning(
                    f"the context window of {model} is not known: --fit left the pack as it is "
                    "(set capabilities.contextWindow on the provider's model)"
                )
            )
            return ctx
        if ctx.total_tokens <= budget:
            return ctx
        if budget < MIN_PACK_TOKENS:
            raise PackTooLarge(
                f"the prompt and the answer's room (max_tokens) fill {model}'s window of "
                f"{window.tokens:,} tokens: --fit has no room left for the pack",
                "shorten the prompt, lower -o max_tokens, or pick a model with a larger "
                "context (--model)",
            )
        fitted = fit_context(ctx, request, budget)
        on_event(
            events.Status(
                f"--fit: the pack shrank from about {fitted.original_tokens:,} to "
                f"{fitted.total_tokens:,} tokens for {model}'s window of {window.tokens:,}: "
                f"{len(fitted.files) - len(fitted.shortened)} whole, "
                f"{len(fitted.shortened)} shortened, {len(fitted.left_out_to_fit)} left out"
            )
        )
        return fitted
    total = ctx.total_tokens + window.other_tokens
    if not sending or window.tokens is None or total <= window.tokens:
        return ctx
    if any(other is None or total <= other for other in window.fallbacks):
        return ctx  # the call moves on to the first endpoint whose window fits
    raise PackTooLarge(
        f"about {total:,} input tokens, but {model} takes {window.tokens:,}: nothing was sent",
        "shrink the pack to the window with --fit (ccw cli --fit --dry-run shows what it "
        "keeps), narrow the @patterns, or pick a model with a larger context (--model)",
    )
