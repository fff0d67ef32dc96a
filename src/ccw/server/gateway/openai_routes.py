"""``/v1/chat/completions``, ``/v1/embeddings`` and ``/v1/models`` in OpenAI's wire format."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ccw.errors import CcwError
from ccw.exec.faults import ProviderFault
from ccw.result import ExecutionResult
from ccw.server.gateway import chat, stream
from ccw.server.gateway.errors import GatewayError, from_kind
from ccw.server.gateway.errors import body as error_body
from ccw.server.state import ServerState

PACK_HEADER = "x-ccw-pack"
PACK_FIELD = "ccw_pack"  # the body's equivalent of the header
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}

router = APIRouter(prefix="/v1")


def server_state(request: Request) -> ServerState:
    found: ServerState = request.app.state.ccw
    return found


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (its size already checked by the security middleware)."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise GatewayError(400, "the body must be a JSON object", "bad_request") from None
    if not isinstance(body, dict):
        raise GatewayError(400, "the body must be a JSON object", "bad_request")
    return body


def pack_root(request: Request, body: dict[str, Any]) -> Path | None:
    """The project a client asked to pack ``@patterns`` against (None: sent unchanged)."""
    value = request.headers.get(PACK_HEADER) or body.pop(PACK_FIELD, None)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise GatewayError(400, f"{PACK_FIELD} must be a project path", "bad_request")
    return Path(value).expanduser().resolve()


def failure(result: ExecutionResult, retry_after: float | None = None) -> GatewayError:
    return from_kind(result.error_kind, result.error or "the call failed", result.fix, retry_after)


async def run_call(request: Request, body: dict[str, Any]) -> tuple[chat.ChatCall, stream.Running]:
    """Parse and start a call; a call that fails before its first piece raises."""
    s = server_state(request)
    call = chat.parse(
        body, chat.client_name(request.headers.get("user-agent")), pack_root(request, body)
    )
    config = s.config()
    parent = getattr(request.app.state, "gateway_parent", None)
    outcome = chat.Outcome()
    running = await stream.start(
        lambda on_event: chat.run(call, config, s.store.path, on_event, parent, outcome)
    )
    first = running.first
    if isinstance(first, BaseException):
        raise first
    if isinstance(first, ExecutionResult) and not first.success:
        raise failure(first, outcome.retry_after)
    return call, running


def usage_of(result: ExecutionResult) -> dict[str, int]:
    prompt = result.usage.prompt_tokens or 0
    completion = result.usage.completion_tokens or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


@router.post("/chat/completions")
async def chat_completions(request: Request) -> Response:
    body = await json_body(request)
    call, running = await run_call(request, body)
    ident = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not call.stream:
        result = await _last(running)
        return JSONResponse(
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": call.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": result.output},
                        "finish_reason": result.finish_reason or "stop",
                    }
                ],
                "usage": usage_of(result),
            }
        )
    options = body.get("stream_options") or {}
    with_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    return StreamingResponse(
        _chunks(running, ident, created, call.model, with_usage),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


async def _last(running: stream.Running) -> ExecutionResult:
    async for item in running.rest():
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, ExecutionResult):
            if not item.success:
                raise failure(item)
            return item
    raise GatewayError(500, "the call ended without a result")


async def _chunks(
    running: stream.Running, ident: str, created: int, model: str, with_usage: bool
) -> AsyncIterator[str]:
    def event(delta: dict[str, Any], finish: str | None = None, **more: Any) -> str:
        chunk = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **more,
        }
        return f"data: {json.dumps(chunk)}\n\n"

    yield event({"role": "assistant", "content": ""})
    async for item in running.rest():
        if isinstance(item, str):
            yield event({"content": item})
            continue
        if isinstance(item, ExecutionResult) and item.success:
            yield event({}, item.finish_reason or "stop")
            if with_usage:
                usage = {"id": ident, "object": "chat.completion.chunk", "created": created}
                yield (
                    "data: "
                    + json.dumps({**usage, "model": model, "choices": [], "usage": usage_of(item)})
                    + "\n\n"
                )
        else:
            error = (
                failure(item) if isinstance(item, ExecutionResult) else GatewayError(500, str(item))
            )
            yield f"data: {json.dumps(error_body(error, 'openai'))}\n\n"
    yield "data: [DONE]\n\n"


@router.get("/models")
async def models(request: Request) -> JSONResponse:
    """Every enabled endpoint and model pool, by the id a client sends as ``model``."""
    from ccw.config.effective import effective_config

    config = effective_config(server_state(request).config())
    rows: list[dict[str, Any]] = []
    for endpoint in config.endpoints:
        if endpoint.enabled:
            rows.append(
                {
                    "id": endpoint.id,
                    "object": "model",
                    "created": 0,
                    "owned_by": endpoint.provider_id,
                }
            )
    for pool in config.model_pools or ():
        if pool.enabled:
            rows.append({"id": pool.id, "object": "model", "created": 0, "owned_by": "ccw-pool"})
    return JSONResponse({"object": "list", "data": rows})


@router.post("/embeddings")
async def embeddings(request: Request) -> JSONResponse:
    body = await json_body(request)
    model = body.get("model")
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(model, str) or not model:
        raise GatewayError(
            400, "model is required: an embedding endpoint or pool id", "bad_request"
        )
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise GatewayError(400, "input must be a string or a list of strings", "bad_request")
    s = server_state(request)
    config = s.config()

    def work() -> Any:
        from ccw.exec.embed import embed

        return embed(config, s.store.path, texts, model_id=model)

    try:
        result = await asyncio.to_thread(work)
    except CcwError as exc:
        wait = exc.retry_after if isinstance(exc, ProviderFault) else None
        raise from_kind(exc.kind, exc.message, exc.fix, wait) from None
    tokens = result.prompt_tokens or 0
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": vector}
                for i, vector in enumerate(result.vectors)
            ],
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )
