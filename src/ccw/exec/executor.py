"""The executor seam: every backend runs one prepared ``Request`` into an ``ExecutionResult``.

``ccw.exec.run`` routes a call to an executor (``ccw.exec.router.executor_for``), packs the
context the executor asks for, runs it and records the result. LiteLLM
(``ccw.exec.litellm_executor``), the command-line tools (``ccw.exec.tools``) and the test
double (``ccw.exec.mock``) implement it; a gateway can call it the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from ccw.errors import UsageError
from ccw.exec.events import OnEvent
from ccw.result import ExecutionResult

if TYPE_CHECKING:
    from ccw.config.schema import Endpoint
    from ccw.context.api import ContextResult

Mode = Literal["analysis", "write", "auto"]
MODES: tuple[Mode, ...] = get_args(Mode)

Messages = list[dict[str, Any]]


def parse_mode(value: str) -> Mode:
    """``value`` as a mode; anything else is a usage error naming the choices."""
    for known in MODES:
        if value == known:
            return known
    raise UsageError(f"unknown --mode {value}", f"use one of: {', '.join(MODES)}")


@dataclass(frozen=True)
class Request:
    """One call, ready to run: the prompt as typed, its packed context and earlier turns."""

    prompt: str
    context: ContextResult | None = None
    prior: Messages = field(default_factory=list)
    mode: Mode = "analysis"
    cwd: Path = field(default_factory=Path.cwd)
    include_dirs: tuple[Path, ...] = ()
    stream: bool = True
    timeout: float | None = None
    # ``-s/--system`` and ``-o KEY VALUE`` (validated, typed model parameters).
    system: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


def turns_text(turns: Messages) -> str:
    """The text of earlier turns (a turn's content is a string or a list of text blocks)."""
    parts: list[str] = []
    for turn in turns:
        content = turn.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return "\n\n".join(parts)


def as_one_prompt(request: Request) -> Request:
    """The request with its earlier turns as text ahead of the prompt: what an estimate
    counts, since every executor's estimate counts the prompt (so the history is in the
    tokens and in the price alike)."""
    if not request.prior:
        return request
    return replace(request, prior=[], prompt=turns_text(request.prior) + "\n\n" + request.prompt)


@dataclass(frozen=True)
class Estimate:
    """What a call would cost before it is sent (``--dry-run``)."""

    prompt_tokens: int
    input_cost: float | None = None


class Executor(ABC):
    """One backend. ``name`` is what a result records as ``tool``; ``model``, ``provider`` and
    ``endpoint_id`` say who answers, as the result and ``--dry-run`` show them."""

    name: str
    model: str
    provider: str
    endpoint_id: str | None = None
    # Whose ``cacheStrategy`` packs the context (None: the config's defaults).
    endpoint: Endpoint | None = None
    # Whether the prompt's @patterns are packed (otherwise the executor gets them as typed).
    packs: bool = True
    # Whether a call can continue an earlier one (``--resume``).
    conversational: bool = False

    @abstractmethod
    def run(self, request: Request, on_event: OnEvent) -> ExecutionResult:
        """Run the call. A failure after the call started comes back as a result with
        ``success=False``; an error before it (a missing tool, a model that does not start)
        may raise ``CcwError``. Pieces of the answer go to ``on_event`` as ``Text``."""

    def messages(self, request: Request) -> Messages | None:
        """The turns this request sends, as the history keeps them for ``--resume``."""
        return None

    def estimate(self, request: Request) -> Estimate:
        """Tokens (about four characters each) and input cost; unpriced by default."""
        ctx = request.context
        return Estimate(ctx.total_tokens if ctx else len(request.prompt) // 4)
