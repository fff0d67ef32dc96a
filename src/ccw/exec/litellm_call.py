"""One chat call through LiteLLM: credentials per call, streaming, ccw's own retry policy,
one deadline for the whole call.

A target with deployments (several keys, a pool, rpm/tpm limits) goes through LiteLLM's
Router (``ccw.exec.routing``); a refused or rate-limited key then hands the call to another
key at once, and every other fault follows the same retry policy as a plain call. LiteLLM is
imported here and only here, lazily, on the path that calls a model.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ccw.exec import events, faults, http_guard, routing
from ccw.exec.call_policy import Tries, TryState, with_policy
from ccw.exec.deadline import Deadline
from ccw.exec.faults import ProviderFault
from ccw.exec.key_state import KeyStates
from ccw.exec.target import CallTarget
from ccw.result import Usage

if TYPE_CHECKING:
    from pathlib import Path

    from ccw.exec.executor import Request

DEFAULT_MAX_TOKENS = 4096
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

TextSink = Callable[[str], None]


@dataclass
class CallOutcome:
    text: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    attempts: int = 1
    deployment: str | None = None  # ``provider/key`` that answered a routed call
    cost: float | None = None  # the price a LiteLLM proxy put on the call (``proxy_client``)


def load_litellm(proxies: dict[str, str] | None = None) -> Any:
    """Import LiteLLM offline and quiet: no price-map fetch, no banner on stdout.

    ``proxies`` (API base -> proxy URL) are mounted on the guarded client every route uses.
    """
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
    litellm.client_session = http_guard.client(proxies)
    # ccw owns the retry policy (call_policy). LiteLLM's OpenAI embeddings read a
    # ``max_retries=0`` as "use the default" (2), and the SDK would then sleep out a
    # provider's Retry-After itself, minutes before ccw could answer.
    litellm.DEFAULT_MAX_RETRIES = 0  # type: ignore[attr-defined]  # read at call time
    _no_implicit_event_loop()
    # Pydantic notes, when the Router first caches a cooldown, that LiteLLM's TypedDicts
    # declare ReadOnly items; it is LiteLLM's own typing, nothing a user can act on.
    warnings.filterwarnings(
        "ignore",
        message=r"Items? .* on TypedDict class '\w+' (is|are) using the `ReadOnly` qualifier",
        category=UserWarning,
    )
    return litellm


def _no_implicit_event_loop() -> None:
    """Keep LiteLLM from leaving an unclosed event loop behind in this thread.

    Its sync service logging asks ``asyncio.get_event_loop()``, which creates and sets a loop
    in a thread that has none; the Router's cooldown bookkeeping later runs on a loop of its
    own and resets the thread's loop to ``None``, dropping the first one unclosed. Marking
    the thread as having no loop (only when nothing set one) makes the logging use a
    short-lived loop it closes itself.
    """
    import asyncio

    policy = asyncio.get_event_loop_policy()
    local = getattr(policy, "_local", None)
    if local is None or getattr(local, "_loop", None) is not None:
        return
    if not getattr(local, "_set_called", True):
        policy.set_event_loop(None)


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
    cache: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What every try sends, routed or not: the messages, the endpoint's defaults, the
    caller's options over them, the prompt cache's arguments (``ccw.exec.prompt_cache``),
    the timeout and the guarded HTTP client."""
    kwargs: dict[str, Any] = {
        "messages": messages,
        "num_retries": 0,
        "max_retries": 0,
        "max_tokens": target.endpoint.max_tokens or _default_max_tokens(target),
    }
    if target.endpoint.temperature is not None:
        kwargs["temperature"] = target.endpoint.temperature
    for name, value in (options or {}).items():
        if name not in RESERVED:
            kwargs[name] = value
    kwargs.update(cache or {})
    chosen = _timeout(target, timeout, stream)
    if chosen:
        kwargs["timeout"] = chosen
    models = [d.model for d in target.deployments] or [target.model]
    clients = {http_guard.client_for(model) is None for model in models}
    if clients == {False}:
        kwargs["client"] = http_guard.client_for(models[0])
    return kwargs


def _default_max_tokens(target: CallTarget) -> int:
    """Without the endpoint's ``maxTokens``: ccw's default, cut to the model's
    ``capabilities.maxOutputTokens`` when the provider lists it."""
    from ccw.exec.target import capabilities

    found = capabilities(target)
    limit = found.max_output_tokens if found is not None else None
    return min(DEFAULT_MAX_TOKENS, limit) if limit else DEFAULT_MAX_TOKENS


def _kwargs(
    target: CallTarget,
    messages: list[dict[str, Any]],
    timeout: float | None,
    stream: bool,
    options: dict[str, Any] | None = None,
    cache: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A plain call's kwargs: the shared ones plus the one key's credentials."""
    shared = call_kwargs(target, messages, timeout, stream, options, cache)
    return {**shared, **target.litellm_params()}


def _field(obj: Any, name: str) -> Any:
    """``obj[name]`` or ``obj.name``: LiteLLM hands usage over as objects or dicts."""
    if obj is None:
        return None
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _count(*values: Any) -> int | None:
    """The first value that is a token count."""
    return next((v for v in values if isinstance(v, int) and not isinstance(v, bool)), None)


def _usage(raw: Any) -> Usage:
    """The call's tokens from LiteLLM's normalised usage: cache reads from
    ``prompt_tokens_details.cached_tokens`` (OpenAI, DeepSeek, Anthropic alike) or
    ``cache_read_input_tokens``; cache writes from ``cache_creation_input_tokens`` or the
    details' ``cache_write_tokens``, with their TTL from Anthropic's split by lifetime."""
    if raw is None:
        return Usage()
    details = _field(raw, "prompt_tokens_details")
    cached = _count(_field(details, "cached_tokens")) or _count(
        _field(raw, "cache_read_input_tokens")
    )
    written = _count(_field(raw, "cache_creation_input_tokens")) or _count(
        _field(details, "cache_write_tokens"), _field(details, "cache_creation_tokens")
    )
    return Usage(
        prompt_tokens=_field(raw, "prompt_tokens"),
        completion_tokens=_field(raw, "completion_tokens"),
        cached_tokens=cached or 0,
        cache_write_tokens=written or 0,
        cache_write_ttl=_write_ttl(_field(details, "cache_creation_token_details"))
        if written
        else None,
    )


def _write_ttl(split: Any) -> str | None:
    """``"1h"`` or ``"5m"``: the lifetime most written tokens were billed at (ccw asks for
    one lifetime per call); None when the provider does not say."""
    long = _count(_field(split, "ephemeral_1h_input_tokens")) or 0
    short = _count(_field(split, "ephemeral_5m_input_tokens")) or 0
    if not long and not short:
        return None
    return "1h" if long >= short else "5m"


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
            cost=_proxy_cost(target, response=response),
        )
    kwargs["stream_options"] = {"include_usage": True}
    parts: list[str] = []  # joined once at the end: no growing copies of a long answer
    received = 0
    finish: str | None = None
    usage = Usage()
    deployment: str | None = None
    cost: float | None = None
    try:
        response = call(**kwargs)
        deployment = routing.answered_by(response)
        _note(seen, deployment)
        for chunk in response:
            _forget_streamed(response)
            if getattr(chunk, "usage", None) is not None:
                usage = _usage(chunk.usage)
                cost = _proxy_cost(target, usage=chunk.usage)
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
    return CallOutcome("".join(parts), usage, finish, deployment=deployment, cost=cost)


def _proxy_cost(target: CallTarget, *, response: Any = None, usage: Any = None) -> float | None:
    """A LiteLLM proxy's price of the call: its cost header on a whole answer, ``usage.cost``
    on a stream. Only a ``litellm-proxy`` provider is trusted to price a call."""
    if not target.provider_kind.team_proxy:
        return None
    from ccw.exec import proxy_client

    if response is not None:
        return proxy_client.response_cost(response)
    return proxy_client.usage_cost(usage)


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


def complete(
    target: CallTarget,
    messages: list[dict[str, Any]],
    *,
    stream: bool = True,
    timeout: float | None = None,
    options: dict[str, Any] | None = None,
    cache: dict[str, Any] | None = None,
    on_event: events.OnEvent = events.ignore,
    sleep: Callable[[float], None] = time.sleep,
    deadline: Deadline | None = None,
    states: KeyStates | None = None,
    retry: bool = True,
    project: str | None = None,
    request: Request | None = None,
    project_root: Path | None = None,
) -> CallOutcome:
    """Call the model under ccw's retry policy (``ccw.exec.call_policy``).

    ``deadline`` (else ``timeout`` from now) bounds the whole call: tries, waits and other
    keys. The answer goes to ``on_event`` as ``Text`` pieces, each retry as a ``Status``.
    ``retry=False`` (a fallback follows) gives up after the first fault that is not a key's
    own. ``cache`` holds the prompt cache's arguments (``prompt_cache_key``...).
    ``project`` names the project in the tags of a call through a LiteLLM proxy.
    ``request`` and ``project_root`` let a Gemini call send its pack as a cached content
    (``ccw.exec.gemini_cache``).
    """
    litellm = load_litellm(target.proxies())
    deadline = deadline or Deadline(timeout)
    from ccw.exec import gemini_cache

    gemini = gemini_cache.shape(
        target,
        messages,
        request,
        project_root,
        on_event,
        timeout=deadline.bound(target.timeout or gemini_cache.HTTP_TIMEOUT_S),
    )
    if gemini is not None:
        messages, cache = gemini.messages, {**(cache or {}), **gemini.kwargs()}

    def one_try(tries: Tries, per_try: float | None, state: TryState) -> CallOutcome:
        def sink(piece: str) -> None:
            state.output_started = True
            on_event(events.Text(piece))

        if target.routed:
            kwargs = call_kwargs(target, messages, per_try, stream, options, cache)
        else:
            kwargs = _kwargs(target, messages, per_try, stream, options, cache)
        if stream:
            kwargs["stream"] = True
        if target.provider_kind.team_proxy:  # tagged with the project and endpoint
            from ccw.exec.proxy_client import tag_call

            tag_call(kwargs, project, target.endpoint.id)
        sender = tries.sender("completion", kwargs)
        outcome = _attempt(sender, kwargs, target, deadline, sink, state.seen)
        state.answered_by = outcome.deployment
        return outcome

    outcome, count = with_policy(
        litellm,
        target,
        one_try,
        on_event=on_event,
        deadline=deadline,
        states=states,
        retry=retry,
        sleep=sleep,
    )
    outcome.attempts = count
    if gemini is not None:
        outcome.usage = gemini.account(outcome.usage)
    return outcome
