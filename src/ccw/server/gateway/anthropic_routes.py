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


def to_openai(body: dict[str, Any]) -> dict[str, Any]:
    """The Anthropic request as an OpenAI chat request, by LiteLLM's adapter."""
    from ccw.exec.litellm_call import load_litellm

    load_litellm()  # quiet: LiteLLM prints its provider list on stdout otherwise
    from litellm.llms.anthropic.messages.adapters.transformation import AnthropicAdapter

    wanted = dict(body)
    streamed = bool(wanted.get("stream"))
    try:
        translated = AnthropicAdapter().translate_completion_input_params(wanted)
    except (ValueError, TypeError, KeyError) as exc:
        raise GatewayError(400, f"not a Messages API request: {exc}", "bad_request") from None
    if translated is None:
        raise GatewayError(400, "not a Messages API request", "bad_request")
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
