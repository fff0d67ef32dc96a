"""``MockExecutor``: a test double behind the executor seam, so that a call, its history and
the CLI can be tested in process, with no server and no tool.

It answers with the prompt it was sent (or the ``chunks`` it was given), reports ``usage``,
fails with ``fault`` as a provider fault would (a result with ``success=False``) or raises
``error`` before answering, and keeps every request it ran in ``requests``.

It honours the request as a model would: ``system`` is the first message, ``options``'
``stop`` ends the answer before the first stop text and ``max_tokens`` cuts it (a token being
four characters, as its estimates count) with ``finish_reason="length"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ccw.errors import CcwError
from ccw.exec import events
from ccw.exec.executor import Estimate, Executor, Messages, Request
from ccw.result import ExecutionResult, Usage


class MockExecutor(Executor):
    """Echoes the prompt; see the module's docstring."""

    def __init__(
        self,
        *,
        chunks: Sequence[str] | None = None,
        usage: Usage | None = None,
        fault: CcwError | None = None,
        error: CcwError | None = None,
        name: str = "litellm",
        model: str = "mock-model",
        provider: str = "mock",
        endpoint_id: str | None = "mock",
        cost: float | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.provider = provider
        self.endpoint_id = endpoint_id
        self.conversational = True
        self.chunks = list(chunks) if chunks is not None else None
        self.usage = usage or Usage()
        self.fault = fault
        self.error = error
        self.cost = cost
        self.requests: list[Request] = []

    @staticmethod
    def sent(request: Request) -> str:
        """The prompt as a model would get it: pack, separator and prompt."""
        ctx = request.context
        return ctx.final_prompt() if ctx else request.prompt

    def messages(self, request: Request) -> Messages:
        system = [{"role": "system", "content": request.system}] if request.system else []
        return [*system, *request.prior, {"role": "user", "content": self.sent(request)}]

    def estimate(self, request: Request) -> Estimate:
        ctx = request.context
        return Estimate((ctx.total_tokens if ctx else 0) + len(request.prompt) // 4, self.cost)

    def run(self, request: Request, on_event: events.OnEvent) -> ExecutionResult:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        result = ExecutionResult(
            success=self.fault is None,
            model=self.model,
            provider=self.provider,
            endpoint_id=self.endpoint_id,
            tool=self.name,
            usage=self.usage,
            cost=self.cost,
        )
        if self.fault is not None:
            result.error, result.fix = self.fault.message, self.fault.fix
            result.error_kind, result.exit_code = self.fault.kind, self.fault.exit_code
            return result
        pieces, result.finish_reason = _bounded(
            self.chunks if self.chunks is not None else [self.sent(request)], request.options
        )
        for piece in pieces:
            on_event(events.Text(piece))
        result.output = "".join(pieces)
        return result


def _bounded(pieces: Sequence[str], options: dict[str, Any]) -> tuple[list[str], str]:
    """The pieces up to the first stop text or the token limit, and why they ended."""
    text = "".join(pieces)
    end, reason = len(text), "stop"
    for stop in options.get("stop", []):
        found = text.find(stop)
        if 0 <= found < end:
            end = found
    limit = options.get("max_tokens")
    if limit is not None and limit * 4 < end:
        end, reason = limit * 4, "length"
    kept: list[str] = []
    for piece in pieces:
        room = end - sum(len(k) for k in kept)
        if room <= 0:
            break
        kept.append(piece[:room])
    return kept, reason
