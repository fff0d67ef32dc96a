"""One chat call through LiteLLM: credentials per call, streaming, ccw's own retry policy.

LiteLLM is imported here and only here, lazily, on the path that calls a model.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ccw.exec import events, faults, http_guard, redact
from ccw.exec.faults import ProviderFault
from ccw.exec.target import CallTarget
from ccw.result import Usage

DEFAULT_MAX_TOKENS = 4096
MAX_RETRY_WAIT_S = 60.0
DEFAULT_IDLE_TIMEOUT_S = 120.0  # a stream silent this long is cut (endpoint ``idleTimeout``)
DEFAULT_CONNECT_TIMEOUT_S = 600.0  # LiteLLM's own default, for the phases idleTimeout leaves

TextSink = Callable[[str], None]


@dataclass
class CallOutcome:
    text: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    attempts: int = 1


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


def _kwargs(
    target: CallTarget, messages: list[dict[str, Any]], timeout: float | None, stream: bool
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": target.model,
        "messages": messages,
        "api_key": target.api_key,
        "num_retries": 0,
        "max_retries": 0,
        "max_tokens": target.endpoint.max_tokens or DEFAULT_MAX_TOKENS,
    }
    if target.api_base:
        kwargs["api_base"] = target.api_base
    if target.headers:
        kwargs["extra_headers"] = dict(target.headers)
    if target.organization:
        kwargs["organization"] = target.organization
    if target.api_version:
        kwargs["api_version"] = target.api_version
    if target.endpoint.temperature is not None:
        kwargs["temperature"] = target.endpoint.temperature
    chosen = _timeout(target, timeout, stream)
    if chosen:
        kwargs["timeout"] = chosen
    client = http_guard.client_for(target.model)
    if client is not None:
        kwargs["client"] = client
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
    litellm: Any,
    target: CallTarget,
    messages: list[dict[str, Any]],
    stream: bool,
    timeout: float | None,
    on_text: TextSink,
) -> CallOutcome:
    kwargs = _kwargs(target, messages, timeout, stream)
    if not stream:
        response = litellm.completion(**kwargs)
        choice = response.choices[0]
        text = choice.message.content or ""
        if text:
            on_text(text)
        return CallOutcome(text, _usage(getattr(response, "usage", None)), choice.finish_reason)
    kwargs["stream"] = True
    kwargs["stream_options"] = {"include_usage": True}
    parts: list[str] = []  # joined once at the end: no growing copies of a long answer
    received = 0
    finish: str | None = None
    usage = Usage()
    try:
        response = litellm.completion(**kwargs)
        for chunk in response:
            _forget_streamed(response)
            if getattr(chunk, "usage", None) is not None:
                usage = _usage(chunk.usage)
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            piece = getattr(choice.delta, "content", None)
            if piece:
                parts.append(piece)
                received += len(piece)
                on_text(piece)
            if choice.finish_reason:
                finish = choice.finish_reason
    except Exception as exc:
        fault = faults.classify(exc, secrets=redact.secrets_of(target))
        if fault.fault is faults.TIMEOUT and _idle_cut(target, timeout):
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
    return CallOutcome("".join(parts), usage, finish)


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


def _idle_cut(target: CallTarget, timeout: float | None) -> bool:
    """Whether a stream's read timeout was the endpoint's idle deadline, not ``--timeout``."""
    chosen = timeout or target.timeout
    return not chosen or idle_timeout(target) < chosen


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
    litellm: Any,
    target: CallTarget,
    messages: list[dict[str, Any]],
    stream: bool,
    timeout: float | None,
    on_text: TextSink,
    secrets: tuple[str, ...],
) -> CallOutcome:
    """One try. An error the provider sent with status 200 wins over whatever LiteLLM made of
    it (a parse error, a cut stream, or an empty answer)."""
    with http_guard.watch() as error_bodies:
        try:
            outcome = _once(litellm, target, messages, stream, timeout, on_text)
        except Exception:
            if error_bodies:
                raise _body_fault(target, error_bodies[0], secrets) from None
            raise
    if error_bodies:
        raise _body_fault(target, error_bodies[0], secrets)
    return outcome


def _body_fault(
    target: CallTarget, body: http_guard.ErrorBody, secrets: tuple[str, ...]
) -> ProviderFault:
    return faults.from_error_body(
        body.message, body.type, secrets=secrets, where=f"{target.provider.id} (HTTP 200)"
    )


def complete(
    target: CallTarget,
    messages: list[dict[str, Any]],
    *,
    stream: bool = True,
    timeout: float | None = None,
    on_event: events.OnEvent = events.ignore,
    sleep: Callable[[float], None] = time.sleep,
) -> CallOutcome:
    """Call the model; retry 429 (honouring Retry-After), 5xx and connection errors.

    The answer goes to ``on_event`` as ``Text`` pieces, each retry as a ``Status``. Never
    retries 400/401/403, and never once part of an answer has been streamed out.
    """
    litellm = load_litellm()
    secrets = redact.secrets_of(target)
    attempt = 0
    while True:
        started_output = False

        def sink(piece: str) -> None:
            nonlocal started_output
            started_output = True
            on_event(events.Text(piece))

        try:
            outcome = _attempt(litellm, target, messages, stream, timeout, sink, secrets)
            outcome.attempts = attempt + 1
            return outcome
        except ProviderFault as exc:
            fault = exc
        except Exception as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            fault = faults.classify(exc, secrets=secrets, where=target.provider.id)
        if not fault.fault.retryable or started_output or attempt >= target.max_retries:
            raise fault from None
        wait = fault.retry_after
        if wait is None:
            wait = min(8.0, 0.5 * 2**attempt) * (1 + random.random() / 4)
        if wait > MAX_RETRY_WAIT_S:
            raise fault from None
        attempt += 1
        on_event(
            events.Status(
                f"{fault.kind.replace('_', ' ')} from {target.provider.id}; "
                f"retry {attempt}/{target.max_retries} in {wait:.1f} s"
            )
        )
        sleep(wait)
