"""One chat call through LiteLLM: credentials per call, streaming, ccw's own retry policy,
one deadline for the whole call.

A target with deployments (several keys, a pool, rpm/tpm limits) goes through LiteLLM's
Router (``ccw.exec.routing``); a refused or rate-limited key then hands the call to another
key at once, and every other fault follows the same retry policy as a plain call. LiteLLM is
imported here and only here, lazily, on the path that calls a model.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ccw.exec import events, faults, http_guard, routing
from ccw.exec.deadline import Deadline
from ccw.exec.faults import ProviderFault
from ccw.exec.key_state import KeyStates
from ccw.exec.target import CallTarget
from ccw.result import Usage

DEFAULT_MAX_TOKENS = 4096
MAX_RETRY_WAIT_S = 60.0
DEFAULT_IDLE_TIMEOUT_S = 120.0  # a stream silent this long is cut (endpoint ``idleTimeout``)
DEFAULT_CONNECT_TIMEOUT_S = 600.0  # LiteLLM's own default, for the phases idleTimeout leaves

# Kwargs a caller's ``-o`` options may not replace: the call's own plumbing.
RESERVED = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "api_key",
        "api_base",
        "timeout",
        "num_retries",
        "max_retries",
        "client",
        "extra_headers",
        "organization",
        "api_version",
    }
)
# Faults that belong to one key: the call moves to another key at once.
KEY_FAULTS = (faults.AUTHENTICATION, faults.RATE_LIMIT)

TextSink = Callable[[str], None]


@dataclass
class CallOutcome:
    text: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    attempts: int = 1
    deployment: str | None = None  # ``provider/key`` that answered a routed call


def load_litellm() -> Any:
    """Import LiteLLM offline and quiet: no price-map fetch, no banner on stdout."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    # ccw keeps its own history and cost and registers no LiteLLM callbacks; LiteLLM's
    # per-chunk success logging would only compute a cost nobody reads, in worker threads
    # that the interpreter then waits for at exit (about 1 s per call here).
    litellm.disable_streaming_logging = True
    # Every route goes through the guarded client (see http_guard): the OpenAI SDK routes
    # through this session, the others through ``client=`` per call.
    litellm.client_session = http_guard.client()
    return litellm


def idle_timeout(target: CallTarget) -> float:
    return target.endpoint.idle_timeout or DEFAULT_IDLE_TIMEOUT_S


def _timeout(target: CallTarget, timeout: float | None, stream: bool) -> Any:
    """``--timeout`` (else the provider's) for a plain call; a stream also gets the endpoint's
    idle deadline as httpx's read timeout, the longest wait for its next bytes. LiteLLM keeps
    an ``httpx.Timeout`` on the OpenAI SDK routes and passes its ``read`` on the others."""
    chosen = timeout or target.timeout
    if not stream:
        return chosen
    import httpx

    idle = idle_timeout(target)
    read = min(chosen, idle) if chosen else idle
    return httpx.Timeout(chosen or DEFAULT_CONNECT_TIMEOUT_S, read=read)


def call_kwargs(
    target: CallTarget,
    messages: list[dict[str, Any]],
    timeout: float | None,
    stream: bool,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What every try sends, routed or not: the messages, the endpoint's defaults, the
    caller's options over them, the timeout and the guarded HTTP client."""
    kwargs: dict[str, Any] = {
        "messages": messages,
        "num_retries": 0,
        "max_retries": 0,
        "max_tokens": target.endpoint.max_tokens or DEFAULT_MAX_TOKENS,
    }
    if target.endpoint.temperature is not None:
        kwargs["temperature"] = target.endpoint.temperature
    for name, value in (options or {}).items():
        if name not in RESERVED:
            kwargs[name] = value
    chosen = _timeout(target, timeout, stream)
    if chosen:
        kwargs["timeout"] = chosen
    models = [d.model for d in target.deployments] or [target.model]
    clients = {http_guard.client_for(model) is None for model in models}
    if clients == {False}:
        kwargs["client"] = http_guard.client_for(models[0])
    return kwargs


def _kwargs(
    target: CallTarget,
    messages: list[dict[str, Any]],
    timeout: float | None,
    stream: bool,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A plain call's kwargs: the shared ones plus the one key's credentials."""
    kwargs = call_kwargs(target, messages, timeout, stream, options)
    kwargs["model"] = target.model
    kwargs["api_key"] = target.api_key
    if target.api_base:
        kwargs["api_base"] = target.api_base
    if target.headers:
        kwargs["extra_headers"] = dict(target.headers)
    if target.organization:
        kwargs["organization"] = target.organization
    if target.api_version:
        kwargs["api_version"] = target.api_version
    return kwargs


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    get = raw.get if isinstance(raw, dict) else lambda key, default=None: getattr(raw, key, default)
    details = get("prompt_tokens_details", None)
    cached = None
    if details is not None:
        cached = (
            details.get("cached_tokens")
            if isinstance(details, dict)
            else getattr(details, "cached_tokens", None)
        )
    if not cached:
        cached = get("cache_read_input_tokens", None) or cached
    return Usage(
        prompt_tokens=get("prompt_tokens", None),
        completion_tokens=get("completion_tokens", None),
        cached_tokens=cached if cached is not None else 0,
    )


def _once(
    call: Callable[..., Any],
    kwargs: dict[str, Any],
    target: CallTarget,
    deadline: Deadline,
    on_text: TextSink,
    seen: list[str],
) -> CallOutcome:
    """One request. ``seen`` gets the deployment that took it, as soon as that is known."""
    stream = bool(kwargs.get("stream"))
    if not stream:
        response = call(**kwargs)
        _note(seen, routing.answered_by(response))
        choice = response.choices[0]
        text = choice.message.content or ""
        if text:
            on_text(text)
        return CallOutcome(
            text,
            _usage(getattr(response, "usage", None)),
            choice.finish_reason,
            deployment=routing.answered_by(response),
        )
    kwargs["stream_options"] = {"include_usage": True}
    parts: list[str] = []  # joined once at the end: no growing copies of a long answer
    received = 0
    finish: str | None = None
    usage = Usage()
    deployment: str | None = None
    try:
        response = call(**kwargs)
        deployment = routing.answered_by(response)
        _note(seen, deployment)
        for chunk in response:
            _forget_streamed(response)
            if getattr(chunk, "usage", None) is not None:
                usage = _usage(chunk.usage)
            if chunk.choices:
                choice = chunk.choices[0]
                piece = getattr(choice.delta, "content", None)
                if piece:
                    parts.append(piece)
                    received += len(piece)
                    on_text(piece)
                if choice.finish_reason:
                    finish = choice.finish_reason
            if deadline.expired():
                raise deadline.fault(target.provider.id, 1)
    except ProviderFault:
        raise
    except Exception as exc:
        fault = faults.classify(exc, secrets=target.secrets())
        if fault.fault is faults.TIMEOUT and deadline.expired():
            raise deadline.fault(target.provider.id, 1) from None
        if fault.fault is faults.TIMEOUT and _idle_cut(target, kwargs.get("timeout")):
            raise _idle_fault(target, received) from None
        if parts:
            raise ProviderFault(
                faults.STREAM_CUT,
                f"the stream from {target.provider.id} broke after {received} "
                f"characters ({fault.message})",
            ) from None
        raise
    if finish is None:
        raise ProviderFault(
            faults.STREAM_CUT,
            f"the stream from {target.provider.id} ended before the answer was finished",
        )
    return CallOutcome("".join(parts), usage, finish, deployment=deployment)


def _note(seen: list[str], deployment: str | None) -> None:
    if deployment:
        seen.append(deployment)


def _forget_streamed(stream: Any) -> None:
    """Keep LiteLLM from holding a long answer several times over.

    Its stream wrapper keeps every chunk and a growing copy of the text, to rebuild the whole
    answer for its loggers at the end (token counting included). ccw registers no loggers and
    keeps the answer itself, so only the last two chunks (LiteLLM's repetition check) and the
    ones carrying usage are left to it.
    """
    chunks = getattr(stream, "chunks", None)
    if isinstance(chunks, list) and len(chunks) > 2:
        usage = [c for c in chunks[:-2] if getattr(c, "usage", None) is not None]
        chunks[:] = [*usage, *chunks[-2:]]
    if getattr(stream, "response_uptil_now", None):
        stream.response_uptil_now = ""


def _idle_cut(target: CallTarget, timeout: Any) -> bool:
    """Whether a stream's read timeout was the endpoint's idle deadline, not the try's
    timeout (``timeout`` is what the try was given: seconds, or an ``httpx.Timeout``)."""
    overall = getattr(timeout, "connect", timeout)
    if overall is None or overall == DEFAULT_CONNECT_TIMEOUT_S:
        return True
    return bool(idle_timeout(target) < float(overall))


def _idle_fault(target: CallTarget, received: int) -> ProviderFault:
    idle = idle_timeout(target)
    default = "" if target.endpoint.idle_timeout else f", the default of {idle:g} s"
    return ProviderFault(
        faults.TIMEOUT,
        f"{target.provider.id} sent nothing for {idle:g} s after {received} characters "
        f"(endpoint {target.endpoint.id} idleTimeout{default})",
        fix=f"raise it: ccw endpoint update {target.endpoint.id} --idle-timeout SECONDS",
    )


def _attempt(
    call: Callable[..., Any],
    kwargs: dict[str, Any],
    target: CallTarget,
    deadline: Deadline,
    on_text: TextSink,
    seen: list[str],
) -> CallOutcome:
    """One try. An error the provider sent with status 200 wins over whatever LiteLLM made of
    it (a parse error, a cut stream, or an empty answer)."""
    with http_guard.watch() as error_bodies:
        try:
            outcome = _once(call, kwargs, target, deadline, on_text, seen)
        except Exception:
            if error_bodies:
                raise _body_fault(target, error_bodies[0], target.secrets()) from None
            raise
    if error_bodies:
        raise _body_fault(target, error_bodies[0], target.secrets())
    return outcome


def _body_fault(
    target: CallTarget, body: http_guard.ErrorBody, secrets: tuple[str, ...]
) -> ProviderFault:
    return faults.from_error_body(
        body.message, body.type, secrets=secrets, where=f"{target.provider.id} (HTTP 200)"
    )


class _Try:
    """How the next try is sent: directly on the one key, or through the Router over the
    deployments not set aside (this call's refused keys, and keys still cooling down)."""

    def __init__(self, litellm: Any, target: CallTarget, states: KeyStates | None) -> None:
        self.litellm = litellm
        self.target = target
        self.states = states
        self.excluded: set[str] = set()
        self.notes: list[str] = []
        ids = [d.id for d in target.deployments]
        cooling = states.cooling(ids) if states is not None and ids else set()
        if cooling and len(cooling) < len(ids):
            self.excluded |= cooling
            self.notes.append("skipping keys cooling down: " + ", ".join(sorted(cooling)))

    def left(self) -> list[str]:
        return [d.id for d in self.target.deployments if d.id not in self.excluded]

    def sender(self, kwargs: dict[str, Any]) -> Callable[..., Any]:
        if not self.target.routed:
            return self.litellm.completion  # type: ignore[no-any-return]
        chosen = [d for d in self.target.deployments if d.id not in self.excluded]
        router = routing.router_for(self.litellm, self.target, chosen)
        kwargs["model"] = routing.GROUP
        return router.completion  # type: ignore[no-any-return]

    def kwargs(
        self,
        messages: list[dict[str, Any]],
        timeout: float | None,
        stream: bool,
        options: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if self.target.routed:
            found = call_kwargs(self.target, messages, timeout, stream, options)
        else:
            found = _kwargs(self.target, messages, timeout, stream, options)
        if stream:
            found["stream"] = True
        return found

    def succeeded(self, deployment: str | None, latency_ms: int) -> None:
        if self.states is not None and deployment and self.target.routed:
            self.states.success(deployment, latency_ms)

    def failed(self, deployment: str | None, fault: ProviderFault) -> None:
        if self.states is None or not deployment or not self.target.routed:
            return
        health = self.target.health
        self.states.failure(
            deployment,
            fault.message,
            threshold=health.failure_threshold,
            cooldown_s=float(health.cooldown_seconds),
            at_once=fault.fault is faults.AUTHENTICATION,
        )


def complete(
    target: CallTarget,
    messages: list[dict[str, Any]],
    *,
    stream: bool = True,
    timeout: float | None = None,
    options: dict[str, Any] | None = None,
    on_event: events.OnEvent = events.ignore,
    sleep: Callable[[float], None] = time.sleep,
    deadline: Deadline | None = None,
    states: KeyStates | None = None,
    retry: bool = True,
) -> CallOutcome:
    """Call the model; retry 429 (honouring Retry-After), 5xx and connection errors.

    ``deadline`` (else ``timeout`` from now) bounds the whole call: tries, waits and other
    keys. The answer goes to ``on_event`` as ``Text`` pieces, each retry as a ``Status``.
    Never retries 400/401/403, and never once part of an answer has been streamed out; a
    routed call moves to another key after a 401/403 or 429 on one. ``retry=False`` (a
    fallback follows) gives up after the first fault that is not a key's own.
    """
    litellm = load_litellm()
    deadline = deadline or Deadline(timeout)
    secrets = target.secrets()
    tries = _Try(litellm, target, states)
    for note in tries.notes:
        on_event(events.Status(note))
    attempt = 0
    count = 0
    while True:
        if deadline.expired():
            raise deadline.fault(target.provider.id, count)
        started_output = False

        def sink(piece: str) -> None:
            nonlocal started_output
            started_output = True
            on_event(events.Text(piece))

        per_try = deadline.bound(target.timeout)
        kwargs = tries.kwargs(messages, per_try, stream, options)
        seen: list[str] = []
        started = time.monotonic()
        count += 1
        try:
            outcome = _attempt(tries.sender(kwargs), kwargs, target, deadline, sink, seen)
            outcome.attempts = count
            tries.succeeded(outcome.deployment, int((time.monotonic() - started) * 1000))
            return outcome
        except ProviderFault as exc:
            fault = exc
            failed = seen[-1] if seen else None
        except Exception as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            fault = faults.classify(exc, secrets=secrets, where=target.provider.id)
            failed = routing.failed_deployment(exc) or (seen[-1] if seen else None)
        if fault.fault is faults.TIMEOUT and deadline.expired():
            fault = deadline.fault(target.provider.id, count)
        tries.failed(failed, fault)
        if fault.fault is faults.TIMEOUT and deadline.expired():
            raise fault from None
        if target.routed and failed and fault.fault in KEY_FAULTS and not started_output:
            tries.excluded.add(failed)
            left = tries.left()
            if left:
                on_event(
                    events.Status(
                        f"{fault.kind.replace('_', ' ')} on key {failed}; trying another key"
                    )
                )
                continue
        if not (retry and fault.fault.retryable) or started_output or attempt >= target.max_retries:
            raise fault from None
        wait = fault.retry_after
        if wait is None:
            wait = min(8.0, 0.5 * 2**attempt) * (1 + random.random() / 4)
        if wait > MAX_RETRY_WAIT_S or not deadline.allows_wait(wait):
            raise fault from None
        attempt += 1
        on_event(
            events.Status(
                f"{fault.kind.replace('_', ' ')} from {target.provider.id}; "
                f"retry {attempt}/{target.max_retries} in {wait:.1f} s"
            )
        )
        sleep(wait)
