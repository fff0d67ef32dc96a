"""The LiteLLM executor: one configured endpoint, its messages, the local model, the price.

Everything provider-specific about a call lives here or below (``litellm_call``, ``target``,
``pricing``); ``ccw.exec.run`` sees only the ``Executor`` seam.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccw.exec import events
from ccw.exec.executor import Estimate, Executor, Messages, Request
from ccw.exec.target import CallTarget
from ccw.result import ExecutionResult

if TYPE_CHECKING:
    from ccw.config.schema import LocalModelSettings


class LiteLLMExecutor(Executor):
    """Runs a call on one resolved endpoint through LiteLLM."""

    name = "litellm"
    conversational = True

    def __init__(self, target: CallTarget, *, config_path: Path, local: LocalModelSettings) -> None:
        self.target = target
        self.endpoint = target.endpoint
        self.endpoint_id = target.endpoint.id
        self.model = target.endpoint.model  # as configured; ``target.model`` is LiteLLM's
        self.provider = target.provider.id
        self._config_path = config_path
        self._local = local

    def messages(self, request: Request) -> Messages:
        """The earlier turns, then the user turn: pack, separator and prompt."""
        from ccw.context.options import SEPARATOR

        ctx = request.context
        if ctx is None or not ctx.pack:
            content: str | list[dict[str, Any]] = ctx.prompt if ctx else request.prompt
        else:
            content = self.target.provider_kind.user_content(ctx.pack, SEPARATOR, ctx.prompt)
        return [*request.prior, {"role": "user", "content": content}]

    def estimate(self, request: Request) -> Estimate:
        from ccw.exec import pricing

        ctx = request.context
        tokens = (ctx.total_tokens if ctx else 0) + max(1, len(request.prompt) // 4)
        target = self.target
        return Estimate(tokens, pricing.input_cost(target.provider_type, target.model, tokens))

    def run(self, request: Request, on_event: events.OnEvent) -> ExecutionResult:
        from ccw.exec import pricing
        from ccw.exec.faults import ProviderFault
        from ccw.exec.litellm_call import complete

        self._warn_literal_key(on_event)
        target = self._reachable(on_event)
        ctx = request.context
        result = ExecutionResult(
            success=False,
            model=self.model,
            provider=self.provider,
            endpoint_id=self.endpoint_id,
            warnings=list(ctx.warnings) if ctx else [],
        )
        try:
            outcome = complete(
                target,
                self.messages(request),
                stream=request.stream,
                timeout=request.timeout,
                on_event=on_event,
            )
        except ProviderFault as fault:
            result.error, result.fix = fault.message, fault.fix
            result.error_kind, result.exit_code = fault.kind, fault.exit_code
            _scrub(result, target)
            return result
        result.success = True
        result.output = outcome.text
        result.usage = outcome.usage
        result.cost = pricing.cost(target.provider_type, target.model, outcome.usage)
        return result

    def _warn_literal_key(self, on_event: events.OnEvent) -> None:
        from ccw.exec.target import warn_literal_key_once
        from ccw.paths import data_dir

        if on_event is events.ignore:
            return  # nobody would see it: keep the one-time warning for a caller who will
        if warn_literal_key_once(self.target, self._config_path, data_dir()):
            variable = self.target.provider_kind.key_env or "MY_API_KEY"
            on_event(
                events.Warning(
                    f"provider {self.target.provider.id} keeps its key literally in "
                    f"{self._config_path}; prefer an environment reference such as "
                    f"${{{variable}}}"
                )
            )

    def _reachable(self, on_event: events.OnEvent) -> CallTarget:
        """The target as called: the embedded model is started first, on its own port."""
        if not self.target.provider_kind.embedded:
            return self.target
        from ccw.local.process import ensure_running

        base, started_now = ensure_running(self._local)
        if started_now:
            on_event(events.Status(f"started the local model on {base} (ccw local stop ends it)"))
        return replace(self.target, api_base=base)


def _scrub(result: ExecutionResult, target: CallTarget) -> None:
    """Mask the target's credentials in every error text before it is shown or recorded."""
    from ccw.exec.redact import scrub, secrets_of

    secrets = secrets_of(target)
    result.error = scrub(result.error, secrets)
    result.fix = scrub(result.fix, secrets)
    result.warnings = [scrub(w, secrets) or "" for w in result.warnings]
