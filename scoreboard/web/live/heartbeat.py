"""Keep-alive for every open WebSocket from one task, not one timer per fan.

Every `interval` seconds each connection is pinged; one that has sent neither a pong nor a
message since the previous ping is taken for dead and dropped (close code 1006), so a fan
whose network vanished does not hold memory for ever. Pings it sends do not count: a client
that pings and never reads is dropped too. So is one whose write buffer stayed over its
high-water mark for a whole round (1013): whatever we write, it reads nothing. The pings also keep Heroku-like routers,
which cut connections idle for 55 s, from cutting a quiet match's fans.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from .close_codes import CloseCode
from .websocket import WebSocketConnection

log = logging.getLogger(__name__)

# Each interval is cut into this many ticks and each tick pings one slice of the fans, so
# 10,000 pings (~100 ms of send() here) never hold up an event's fan-out in one block.
TICKS_PER_INTERVAL = 20


class Heartbeat:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._connections: set[WebSocketConnection] = set()
        self.dropped = 0  # connections dropped for silence or for not reading, for logs and tests

    def add(self, connection: WebSocketConnection) -> None:
        self._connections.add(connection)

    def discard(self, connection: WebSocketConnection) -> None:
        self._connections.discard(connection)

    def check(self, connection: WebSocketConnection) -> None:
        """Drop `connection` if silent since its last ping, else ping it."""
        if connection.closed:
            self._connections.discard(connection)
        elif connection.unanswered_pings:
            self.dropped += 1
            connection.cut(CloseCode.ABNORMAL_CLOSURE)  # its session stops before the socket goes
        elif connection.stalled():
            self.dropped += 1
            connection.cut(CloseCode.TRY_AGAIN_LATER)
        elif not connection.closing:
            connection.ping()

    async def run(self) -> None:
        """Every fan once per interval, a slice per tick; fans that joined wait for the next round."""
        tick = self.interval / TICKS_PER_INTERVAL
        while True:
            fans = tuple(self._connections)
            per_tick = max(1, -(-len(fans) // TICKS_PER_INTERVAL))  # ceiling
            for index in range(TICKS_PER_INTERVAL):
                await asyncio.sleep(tick)
                for connection in fans[index * per_tick : (index + 1) * per_tick]:
                    try:
                        self.check(connection)
                    except Exception:  # never let one bad connection stop the keep-alive for all
                        log.exception("heartbeat check failed")


def heartbeat_lifetime(heartbeat: Heartbeat):  # type: ignore[no-untyped-def]
    """A cleanup_ctx entry running `heartbeat` while the app is up."""

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.ensure_future(heartbeat.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return lifetime
