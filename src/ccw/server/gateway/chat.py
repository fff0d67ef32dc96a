"""One chat call from an API client, run through the executor seam like ``ccw cli``.

The client's messages become a ``Request``: leading system turns the system prompt, the last
user turn the prompt (its ``@patterns`` packed only when the client asks, relative to the
project it names), everything between the earlier turns. The call is routed, run and
recorded in the history under the client's name, from its ``User-Agent``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccw.config.schema import Config
from ccw.errors import CcwError, ExitCode
from ccw.exec import collector, events, router
from ccw.exec.executor import Messages, Request
from ccw.exec.faults import ProviderFault
from ccw.result import ExecutionResult
from ccw.server.gateway.errors import GatewayError

# Model parameters a client may set; the rest of its body is not sent on.
PASSED = (
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "response_format",
)


# Content part types of OpenAI's and Anthropic's APIs that the gateway does not take.
KNOWN_PARTS = frozenset(
    {"image_url", "input_audio", "file", "image", "document", "tool_use", "tool_result"}
)


class ClientGone(BaseException):
    """The client went away: raised from the event callback to end the upstream stream.

    A ``BaseException``, so that no retry or fault classification mistakes it for a
    provider failure.
    """


class ClientLeft(CcwError):
    """How the history records a call whose client went away mid-answer."""

    kind = "interrupted"
    exit_code = ExitCode.INTERRUPTED


@dataclass(frozen=True)
class ChatCall:
    """What a client asked for, checked."""

    model: str
    system: str | None
    prior: Messages
    prompt: str
    stream: bool
    options: dict[str, Any] = field(default_factory=dict)
    client: str = "api"
    pack_root: Path | None = None


@dataclass
class Outcome:
    """What a failed call tells the client beside its result: the wait the provider asked
    for (its ``Retry-After``), passed on so that the client's own retry logic waits as long."""

    retry_after: float | None = None


def _asked_wait(fault: object) -> float | None:
    return fault.retry_after if isinstance(fault, ProviderFault) else None


def client_name(user_agent: str | None) -> str:
    """``OpenAI/Python 1.2`` -> ``OpenAI``: the product the history records the call under."""
    product = (user_agent or "").split(" ", 1)[0].split("/", 1)[0].strip()
    return product[:40] or "api"


def text_of(content: Any) -> str:
    """A turn's text: a string, or its text parts joined; anything else is refused."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, dict) else None
                # Named only when it is a known part type: an error never echoes what a
                # client sent (it may hold a key or a header value).
                named = f" of type {kind}" if kind in KNOWN_PARTS else ""
                raise GatewayError(
                    400, f"content parts{named} are not supported; send text", "bad_request"
                )
            parts.append(str(part.get("text", "")))
        return "\n".join(parts)
    if content is None:
        return ""
    raise GatewayError(400, "a message's content must be a string or text parts", "bad_request")


def parse(body: dict[str, Any], client: str, pack_root: Path | None) -> ChatCall:
    """The call of an OpenAI chat completions body; a malformed one is a 400 naming the field."""
    model = body.get("model")
    messages = body.get("messages")
    if not isinstance(model, str) or not model:
        raise GatewayError(400, "model is required: an endpoint or pool id", "bad_request")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) for m in messages)
    ):
        raise GatewayError(400, "messages must be a non-empty list of messages", "bad_request")
    last = messages[-1]
    if last.get("role") != "user":
        raise GatewayError(400, "the last message must be the user's", "bad_request")
    lead = 0
    system: list[str] = []
    while lead < len(messages) - 1 and messages[lead].get("role") in ("system", "developer"):
        system.append(text_of(messages[lead].get("content")))
        lead += 1
    options = {name: body[name] for name in PASSED if body.get(name) is not None}
    limit = body.get("max_completion_tokens")
    if limit is not None and "max_tokens" not in options:
        options["max_tokens"] = limit
    return ChatCall(
        model=model,
        system="\n\n".join(system) or None,
        prior=[dict(m) for m in messages[lead:-1]],
        prompt=text_of(last.get("content")),
        stream=bool(body.get("stream")),
        options=options,
        client=client,
        pack_root=pack_root,
    )


def run(
    call: ChatCall,
    config: Config,
    config_path: Path,
    on_event: events.OnEvent,
    parent_id: str | None = None,
    outcome: Outcome | None = None,
) -> ExecutionResult:
    """Route, pack (when asked), run and record one call. Failures come back as results;
    ``outcome`` learns the wait a refusing provider asked for."""
    started = time.monotonic()
    route = router.Route(router.LITELLM, endpoint_id=call.model)
    messages: Messages | None = None
    cwd = call.pack_root or config_path.parent
    streamed: list[str] = []

    def listen(event: events.Event) -> None:
        on_event(event)  # raises ClientGone when the client left
        if isinstance(event, events.Text):
            streamed.append(event.piece)

    try:
        executor = router.executor_for(route, config, config_path, pack=True)
        context = _pack(call, config, executor.endpoint) if call.pack_root else None
        request = Request(
            prompt=call.prompt,
            context=context,
            prior=call.prior,
            cwd=cwd,
            stream=call.stream,
            system=call.system,
            options=dict(call.options),
        )
        messages = executor.messages(request)
        from ccw.exec import budget

        budget.enforce(config, executor, request, cwd=cwd, on_event=listen)
        result = executor.run(request, listen)
        wait = _asked_wait(getattr(executor, "last_fault", None))
    except CcwError as exc:
        result = route.failed(exc)
        wait = _asked_wait(exc)
    except ClientGone:
        result = _left(route, "".join(streamed))
        _finish(result, call, messages, cwd, parent_id, started)
        raise
    if outcome is not None and not result.success:
        outcome.retry_after = wait
    _finish(result, call, messages, cwd, parent_id, started)
    collector.after_call()
    return result


def _left(route: router.Route, streamed: str) -> ExecutionResult:
    """The call of a client that went away: what had streamed, marked as interrupted."""
    result = route.failed(ClientLeft("the client went away: the answer is incomplete"))
    result.output = streamed
    return result


def _finish(
    result: ExecutionResult,
    call: ChatCall,
    messages: Messages | None,
    cwd: Path,
    parent_id: str | None,
    started: float,
) -> None:
    result.tool = call.client
    result.duration_ms = int((time.monotonic() - started) * 1000)
    _record(result, call, messages, cwd, parent_id)


def _pack(call: ChatCall, config: Config, endpoint: Any) -> Any:
    """The prompt's ``@patterns`` packed relative to the project the client named."""
    from ccw.context.api import build_context, context_request, has_patterns
    from ccw.context.options import PackOptions
    from ccw.paths import find_project_root

    root = call.pack_root
    assert root is not None
    if not root.is_dir():
        raise GatewayError(400, f"X-CCW-Pack: {root} is not a directory", "bad_request")
    if not has_patterns(call.prompt):
        return None
    request = context_request(
        call.prompt, root, config, find_project_root(root), endpoint, PackOptions()
    )
    return build_context(request)


def _record(
    result: ExecutionResult,
    call: ChatCall,
    messages: Messages | None,
    cwd: Path,
    parent_id: str | None,
) -> None:
    from ccw.history import open_history

    with open_history() as history:
        result.id = history.record(
            result, prompt=call.prompt, messages=messages, cwd=str(cwd), parent_id=parent_id
        )
