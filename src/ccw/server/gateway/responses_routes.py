"""``POST /v1/responses``: OpenAI's Responses API (what codex sends a custom provider).

LiteLLM's own Responses-to-chat transformation turns the request into a chat request; the
call is the one ``/v1/chat/completions`` runs; the answer goes back as a Responses object or
its SSE events (text output).
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


def to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """The Responses request as a chat request, by LiteLLM's transformation."""
    from ccw.exec.litellm_call import load_litellm

    load_litellm()
    from litellm.responses.litellm_completion_transformation.transformation import (
        LiteLLMCompletionResponsesConfig,
    )

    model = body.get("model")
    given = body.get("input")
    if not isinstance(model, str) or not model:
        raise GatewayError(400, "model is required: an endpoint or pool id", "bad_request")
    if not isinstance(given, (str, list)) or not given:
        raise GatewayError(400, "input must be a string or a list of items", "bad_request")
    params = {k: v for k, v in body.items() if k not in ("model", "input", "stream")}
    translate = (
        LiteLLMCompletionResponsesConfig.transform_responses_api_request_to_chat_completion_request
    )
    try:
        chat = translate(
            model=model,
            input=given,
            responses_api_request=params,  # type: ignore[arg-type]
            custom_llm_provider="openai",
            stream=bool(body.get("stream")),
        )
    except Exception:  # the client's input, whatever tripped on it; never echoed back
        raise GatewayError(
            400,
            "not a Responses API request: a field is not in the Responses API's shape",
            "bad_request",
        ) from None
    messages = [_plain_turn(m) for m in chat.get("messages") or []]
    # The last turn the model answers is the user's: trailing assistant or tool items
    # (a tool loop) are not supported yet.
    return {
        "model": model,
        "messages": messages,
        "stream": bool(body.get("stream")),
        **({"max_tokens": body["max_output_tokens"]} if body.get("max_output_tokens") else {}),
    }


def _plain_turn(message: Any) -> dict[str, Any]:
    turn = dict(message)
    content = turn.get("content")
    if isinstance(content, list):
        texts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text")
        ]
        turn["content"] = "\n".join(texts)
    return {k: v for k, v in turn.items() if k in ("role", "content", "name")}


class _Answer:
    """The ids and shapes of one Responses answer."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id = f"resp_{uuid.uuid4().hex}"
        self.item_id = f"msg_{uuid.uuid4().hex}"
        self.created = int(time.time())

    def item(self, text: str, status: str) -> dict[str, Any]:
        content = [{"type": "output_text", "text": text, "annotations": []}] if status else []
        return {
            "id": self.item_id,
            "type": "message",
            "role": "assistant",
            "status": status or "in_progress",
            "content": content,
        }

    def response(self, status: str, result: ExecutionResult | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "model": self.model,
            "output": [],
        }
        if result is not None:
            body["output"] = [self.item(result.output, "completed")]
            prompt = result.usage.prompt_tokens or 0
            completion = result.usage.completion_tokens or 0
            body["usage"] = {
                "input_tokens": prompt,
                "input_tokens_details": {"cached_tokens": result.usage.cached_tokens or 0},
                "output_tokens": completion,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": prompt + completion,
            }
        return body


@router.post("/responses")
async def responses(request: Request) -> Response:
    body = await json_body(request)
    call, running = await run_call(request, to_chat(body))
    answer = _Answer(call.model)
    if not call.stream:
        async for item in running.rest():
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, ExecutionResult):
                if not item.success:
                    raise failure(item)
                return JSONResponse(answer.response("completed", item))
        raise GatewayError(500, "the call ended without a result")
    return StreamingResponse(
        _events(running, answer), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _events(running: stream.Running, answer: _Answer) -> AsyncIterator[str]:
    sequence = 0

    def event(kind: str, **data: Any) -> str:
        nonlocal sequence
        sequence += 1
        payload = {"type": kind, "sequence_number": sequence, **data}
        return f"event: {kind}\ndata: {json.dumps(payload)}\n\n"

    where = {"item_id": answer.item_id, "output_index": 0, "content_index": 0}
    yield event("response.created", response=answer.response("in_progress"))
    yield event("response.output_item.added", output_index=0, item=answer.item("", ""))
    yield event(
        "response.content_part.added",
        **where,
        part={"type": "output_text", "text": "", "annotations": []},
    )
    async for item in running.rest():
        if isinstance(item, str):
            yield event("response.output_text.delta", **where, delta=item)
        elif isinstance(item, ExecutionResult) and item.success:
            text = item.output
            part = {"type": "output_text", "text": text, "annotations": []}
            yield event("response.output_text.done", **where, text=text)
            yield event("response.content_part.done", **where, part=part)
            yield event(
                "response.output_item.done", output_index=0, item=answer.item(text, "completed")
            )
            yield event("response.completed", response=answer.response("completed", item))
        else:
            error = (
                failure(item) if isinstance(item, ExecutionResult) else GatewayError(500, str(item))
            )
            yield event("error", **error_body(error, "openai")["error"])
            yield event("response.failed", response=answer.response("failed"))
