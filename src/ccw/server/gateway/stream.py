"""A call run on a worker thread, its answer handed to the event loop piece by piece.

The first item decides the response: a call that fails before any text answers a plain
error (status and ``Retry-After`` intact); after that, pieces stream. When the client goes
away the next piece raises ``ClientGone`` inside the call, which ends the upstream stream.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from ccw.exec import events
from ccw.result import ExecutionResult
from ccw.server.gateway.chat import ClientGone

Item = str | ExecutionResult | BaseException
Work = Callable[[events.OnEvent], ExecutionResult]


@dataclass
class Running:
    """A started call: its first item, then ``rest()`` for the others."""

    first: Item
    queue: asyncio.Queue[Item]
    gone: threading.Event

    async def rest(self) -> AsyncIterator[Item]:
        """The remaining items, ending with the result (or the exception the call raised).
        Closing the iterator early (the client left) stops the call at its next piece."""
        item = self.first
        try:
            while True:
                yield item
                if not isinstance(item, str):
                    return
                item = await self.queue.get()
        finally:
            self.gone.set()


async def start(work: Work) -> Running:
    """Run ``work`` on a thread; returns once its first piece or its result is there."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Item] = asyncio.Queue()
    gone = threading.Event()

    def put(item: Item) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def on_event(event: events.Event) -> None:
        if gone.is_set():
            raise ClientGone
        if isinstance(event, events.Text):
            put(event.piece)

    def body() -> None:
        try:
            put(work(on_event))
        except ClientGone:
            pass
        except BaseException as exc:  # handed to the loop, which reports it
            put(exc)

    threading.Thread(target=body, name="ccw-gateway-call", daemon=True).start()
    first = await queue.get()
    return Running(first, queue, gone)
