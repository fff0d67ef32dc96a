"""Read routes answered from bytes encoded once per change of what they show.

A dashboard read that polls (``/providers``, ``/cache/stats``) would otherwise rebuild and
re-encode the same JSON on every request; here the encoded body is kept under a key made of
what it depends on (the config files' stamp, the cache database's file stamps), and a
request whose key matches costs a few ``stat`` calls and a dictionary lookup.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Hashable
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder


class EncodedResponses:
    """The last encoded body of each named read, with the key it was made under."""

    def __init__(self) -> None:
        self._bodies: dict[str, tuple[Hashable, bytes]] = {}
        self._lock = threading.Lock()

    def kept(self, name: str, key: Hashable) -> bytes | None:
        with self._lock:
            found = self._bodies.get(name)
        return found[1] if found is not None and found[0] == key else None

    def keep(self, name: str, key: Hashable, body: bytes) -> None:
        with self._lock:
            self._bodies[name] = (key, body)


def encode(value: Any) -> bytes:
    """JSON as FastAPI's ``JSONResponse`` writes it."""
    return json.dumps(
        jsonable_encoder(value), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode("utf-8")


async def encoded_response(
    request: Request,
    name: str,
    key: Hashable,
    build: Callable[[], Any],
    *,
    in_thread: bool = False,
) -> Response:
    """``build()`` as JSON, built and encoded again only when ``key`` changes (kept on the
    app); ``in_thread``: a build that may block (a database read) runs off the event loop."""
    state = request.app.state
    responses: EncodedResponses | None = getattr(state, "encoded_responses", None)
    if responses is None:
        responses = EncodedResponses()
        state.encoded_responses = responses
    body = responses.kept(name, key)
    if body is None:
        body = encode(await asyncio.to_thread(build) if in_thread else build())
        responses.keep(name, key, body)
    return Response(body, media_type="application/json")
