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
    from ccw.exec.faults import ProviderFault


class LiteLLMExecutor(Executor):
    """Runs a call on one resolved endpoint through LiteLLM."""

    name = "litellm"
    conversational = True

    def __init__(
        self,
        target: CallTarget,
        *,
        config_path: Path,
        local: LocalModelSettings,
        key_file: Path | None = None,
    ) -> None:
        self.target = target
        self.endpoint = target.endpoint
        self.endpoint_id = target.endpoint.id
        self.model = target.endpoint.model  # as configured; ``target.model`` is LiteLLM's
        self.provider = target.provider.id
        self._config_path = config_path
        # The file that holds the provider (a user-level provider lives outside the project).
        self._key_file = key_file or config_path
        self._local = local
        # The fault that ended the last run (the gateway passes its Retry-After on).
        self.last_fault: ProviderFault | None = None

    def messages(self, request: Request) -> Messages:
        """The system turn (``-s``), the earlier turns, then the user turn: pack, separator
        and prompt, marked for the provider's prompt cache (``ccw.exec.prompt_cache``)."""
        from ccw.exec.prompt_cache import shape

        return shape(self.target, request).messages

    def estimate(self, request: Request) -> Estimate:
        from ccw.exec import pricing

        ctx = request.context
        tokens = (ctx.total_tokens if ctx else 0) + max(1, len(request.prompt) // 4)
        target = self.target
        return Estimate(tokens, pricing.input_cost(target.provider_type, target.model, tokens))

    def run(self, request: Request, on_event: events.OnEvent) -> ExecutionResult:
        """Call the endpoint, then its ``fallbacks`` in order when it fails in a way another
        endpoint may not, all within one ``--timeout`` deadline."""
        from ccw.exec import fallback
        from ccw.exec.deadline import Deadline
        from ccw.exec.faults import ProviderFault

        self._warn_literal_key(on_event)
        ctx = request.context
        result = ExecutionResult(
            success=False,
            model=self.model,
            provider=self.provider,
            endpoint_id=self.endpoint_id,
            warnings=list(ctx.warnings) if ctx else [],
        )
        deadline = Deadline(request.timeout)
        tokens = self.estimate(request).prompt_tokens
        chain = list(fallback.candidates(self.target))
        left: list[str] = []
        last: ProviderFault | None = None
        target = self.target
        for index, candidate in enumerate(chain):
            if candidate.target is None:
                on_event(
                    events.Warning(f"fallback {candidate.endpoint_id} skipped: {candidate.problem}")
                )
                continue
            has_next = any(c.target is not None for c in chain[index + 1 :])
            fits, window = fallback.fits(candidate.target, tokens)
            if not fits and has_next:
                on_event(
                    events.Status(
                        f"the prompt (about {tokens} tokens) does not fit the context window "
                        f"of {candidate.endpoint_id} ({window}); moving to the next fallback"
                    )
                )
                left.append(candidate.endpoint_id)
                continue
            target = self._reachable(candidate.target, on_event)
            for warning in target.warnings:
                on_event(events.Warning(warning))
            try:
                outcome = self._complete(target, request, on_event, deadline, has_next)
            except ProviderFault as fault:
                last = fault
                if has_next and fallback.moves_on(fault) and not deadline.expired():
                    on_event(
                        events.Status(
                            f"{fault.kind.replace('_', ' ')} on endpoint {candidate.endpoint_id}; "
                            "falling back to the next endpoint"
                        )
                    )
                    left.append(candidate.endpoint_id)
                    continue
                break
            self._fill(result, target, outcome, left)
            return result
        self.last_fault = last
        if last is not None:
            result.error, result.fix = last.message, last.fix
            result.error_kind, result.exit_code = last.kind, last.exit_code
        result.fallback_from = left or None
        _scrub(result, target)
        return result

    def _complete(
        self,
        target: CallTarget,
        request: Request,
        on_event: events.OnEvent,
        deadline: Any,
        has_next: bool,
    ) -> Any:
        from ccw.exec.key_state import KeyStates, state_file
        from ccw.exec.litellm_call import complete
        from ccw.paths import data_dir, project_root_of

        states = KeyStates(state_file(data_dir(), self._config_path)) if target.routed else None
        from ccw.exec.prompt_cache import shape
        from ccw.exec.target import capabilities

        found = capabilities(target)
        shaped = shape(target, request)
        return complete(
            target,
            shaped.messages,
            # a model listed with ``streaming: false`` answers whole; the text still arrives
            stream=request.stream and not (found is not None and found.streaming is False),
            options=request.options,
            cache=shaped.kwargs,
            on_event=on_event,
            deadline=deadline,
            states=states,
            retry=not has_next,
            project=_project(self._config_path) if target.provider_kind.team_proxy else None,
            request=request,
            project_root=project_root_of(self._config_path),
        )

    def _fill(
        self, result: ExecutionResult, target: CallTarget, outcome: Any, left: list[str]
    ) -> None:
        from ccw.exec import pricing

        result.success = True
        result.output = outcome.text
        result.usage = outcome.usage
        result.finish_reason = outcome.finish_reason
        result.deployment = outcome.deployment
        result.fallback_from = left or None
        provider_id = (outcome.deployment or "").split("/", 1)[0] or target.provider.id
        answered = next((d for d in target.deployments if d.id == outcome.deployment), None)
        result.provider = provider_id
        result.endpoint_id = target.endpoint.id
        result.model = target.endpoint.model
        model = answered.model if answered else target.model
        provider_type = answered.provider.type if answered else target.provider_type
        result.cost = pricing.cost(provider_type, model, outcome.usage)
        result.cost_uncached = pricing.uncached_cost(provider_type, model, outcome.usage)
        result.cost_source = "litellm" if result.cost is not None else None
        if outcome.cost is not None:  # a LiteLLM proxy priced the call itself
            result.cost, result.cost_source = outcome.cost, "proxy"

    def _warn_literal_key(self, on_event: events.OnEvent) -> None:
        from ccw.exec.target import warn_literal_key_once
        from ccw.paths import data_dir

        if on_event is events.ignore:
            return  # nobody would see it: keep the one-time warning for a caller who will
        if warn_literal_key_once(self.target, self._key_file, data_dir()):
            variable = self.target.provider_kind.key_env or "MY_API_KEY"
            on_event(
                events.Warning(
                    f"provider {self.target.provider.id} keeps its key literally in "
                    f"{self._key_file}; prefer an environment reference such as "
                    f"${{{variable}}}"
                )
            )

    def _reachable(self, target: CallTarget, on_event: events.OnEvent) -> CallTarget:
        """The target as called: the embedded model is started first, on its own port."""
        if not target.provider_kind.embedded:
            return target
        from ccw.local.process import ensure_running

        base, started_now = ensure_running(self._local)
        if started_now:
            on_event(events.Status(f"started the local model on {base} (ccw local stop ends it)"))
        return replace(target, api_base=base)


def _project(config_path: Path) -> str:
    """The project's name in a LiteLLM proxy's tags (``ccw.exec.proxy_client``)."""
    from ccw.exec.proxy_client import project_name
    from ccw.paths import project_root_of

    return project_name(project_root_of(config_path))


def _scrub(result: ExecutionResult, target: CallTarget) -> None:
    """Mask the target's credentials in every error text before it is shown or recorded."""
    from ccw.exec.redact import scrub

    secrets = target.secrets()
    result.error = scrub(result.error, secrets)
    result.fix = scrub(result.fix, secrets)
    result.warnings = [scrub(w, secrets) or "" for w in result.warnings]
