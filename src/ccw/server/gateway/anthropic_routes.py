"""``POST /v1/messages``: Anthropic's Messages API on any endpoint.

LiteLLM's own Anthropic-messages adapter translates the request to OpenAI's chat format and
the answer (whole, or as Anthropic's SSE events) back; the call in between is the same one
``/v1/chat/completions`` runs.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ccw.result import ExecutionResult
from ccw.server.gateway import stream
from ccw.server.gateway.errors import GatewayError
from ccw.server.gateway.errors import body as error_body
from ccw.server.gateway.openai_routes import SSE_HEADERS, failure, json_body, run_call

router = APIRouter(prefix="/v1")


def _refused(field: str, wanted: str) -> GatewayError:
    # Names the field, never its value: a request may carry keys or header values.
    return GatewayError(400, f"{field} must be {wanted}", "bad_request")


def check_shape(body: dict[str, Any]) -> None:
    """The Messages API's shape, field by field, before the adapter reads it."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _refused("messages", "a non-empty list of messages")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise _refused(where, "an object with a role")
        content = message.get("content")
        if not isinstance(content, str) and not (
            isinstance(content, list) and all(_is_block(b) for b in content)
        ):
            raise _refused(f"{where}.content", "a string or a list of content blocks")
    system = body.get("system")
    blocks = isinstance(system, list) and all(_is_block(b) for b in system)
    if system is not None and not isinstance(system, str) and not blocks:
        raise _refused("system", "a string or a list of text blocks")
    limit = body.get("max_tokens")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        raise _refused("max_tokens", "a whole number")
    tools = body.get("tools")
    if tools is not None and not (
        isinstance(tools, list) and all(_is_block(t, "name") for t in tools)
    ):
        raise _refused("tools", "a list of tool definitions")


def _is_block(value: Any, key: str = "type") -> bool:
    return isinstance(value, dict) and isinstance(value.get(key), str)


def to_openai(body: dict[str, Any]) -> dict[str, Any]:
    """The Anthropic request as an OpenAI chat request, by LiteLLM's adapter."""
    check_shape(body)
    from ccw.exec.litellm_call import load_litellm

    load_litellm()  # quiet: LiteLLM prints its provider list on stdout otherwise
    from litellm.llms.anthropic.messages.adapters.transformation import AnthropicAdapter

    wanted = dict(body)
    streamed = bool(wanted.get("stream"))
    try:
        translated = AnthropicAdapter().translate_completion_input_params(wanted)
    except Exception:  # the client's input, whatever the adapter tripped on: not ours
        translated = None
    if translated is None:
        raise GatewayError(
            400,
            "not a Messages API request: a field is not in the Messages API's shape",
            "bad_request",
        )
    request = dict(translated)
    request["stream"] = streamed
    return request


def _response(result: ExecutionResult, model: str) -> Any:
    from litellm.types.utils import Choices, Message, ModelResponse, Usage

    return ModelResponse(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=model,
        choices=[
            Choices(
                index=0,
                message=Message(role="assistant", content=result.output),
                finish_reason=result.finish_reason or "stop",
            )
        ],
        usage=Usage(
            prompt_tokens=result.usage.prompt_tokens or 0,
            completion_tokens=result.usage.completion_tokens or 0,
            total_tokens=(result.usage.prompt_tokens or 0) + (result.usage.completion_tokens or 0),
        ),
    )


async def _openai_chunks(running: stream.Running, model: str) -> AsyncIterator[Any]:
    """The call's pieces as LiteLLM stream chunks, for the adapter's SSE wrapper."""
    from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices, Usage

    ident = f"chatcmpl-{uuid.uuid4().hex}"

    def chunk(delta: Any, finish: str | None = None, **more: Any) -> Any:
        choice = StreamingChoices(index=0, delta=delta, finish_reason=finish)
        return ModelResponseStream(id=ident, model=model, choices=[choice], **more)

    async for item in running.rest():
        if isinstance(item, str):
            yield chunk(Delta(role="assistant", content=item))
        elif isinstance(item, ExecutionResult) and item.success:
            prompt = item.usage.prompt_tokens or 0
            completion = item.usage.completion_tokens or 0
            usage = Usage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            )
            yield chunk(Delta(), item.finish_reason or "stop", usage=usage)
        elif isinstance(item, ExecutionResult):
            raise failure(item)
        else:
            raise item


@router.post("/messages")
async def messages(request: Request) -> Response:
    body = await json_body(request)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise GatewayError(400, "model is required: an endpoint or pool id", "bad_request")
    call, running = await run_call(request, to_openai(body))
    from litellm.llms.anthropic.messages.adapters.transformation import AnthropicAdapter

    adapter = AnthropicAdapter()
    if not call.stream:
        result: ExecutionResult | None = None
        async for item in running.rest():
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, ExecutionResult):
                if not item.success:
                    raise failure(item)
                result = item
        assert result is not None
        answer = adapter.translate_completion_output_params(_response(result, model))
        return JSONResponse(json.loads(json.dumps(answer, default=_plain)))
    events = adapter.translate_completion_output_params_streaming(
        _openai_chunks(running, model), model=model, is_async=True
    )
    assert events is not None
    return StreamingResponse(_guarded(events), media_type="text/event-stream", headers=SSE_HEADERS)


async def _guarded(events: Any) -> AsyncIterator[bytes]:
    """The adapter's events; a failure midway ends the stream with Anthropic's error event."""
    try:
        async for piece in events:
            yield piece
    except GatewayError as error:
        payload = json.dumps(error_body(error, "anthropic"))
        yield f"event: error\ndata: {payload}\n\n".encode()


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else str(value)
