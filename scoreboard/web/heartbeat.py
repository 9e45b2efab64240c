"""Keep-alive for every open WebSocket from one task, not one timer per fan.

Every `interval` seconds each connection is pinged; one that has sent nothing at all (no pong,
no message) since the previous ping is taken for dead and dropped (close code 1006), so a fan
whose network vanished does not hold memory for ever. The pings also keep Heroku-like routers,
which cut connections idle for 55 s, from cutting a quiet match's fans.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from .websocket import WebSocketConnection

log = logging.getLogger(__name__)

# Yield to the event loop every this many pings, so a sweep over 10,000s of fans never holds
# up an event's fan-out for more than a few milliseconds.
SWEEP_SLICE = 500


class Heartbeat:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._connections: set[WebSocketConnection] = set()
        self.dropped = 0  # connections dropped for silence, for logs and tests

    def add(self, connection: WebSocketConnection) -> None:
        self._connections.add(connection)

    def discard(self, connection: WebSocketConnection) -> None:
        self._connections.discard(connection)

    async def sweep(self) -> None:
        """Drop the silent, ping the rest."""
        for index, connection in enumerate(tuple(self._connections)):
            if connection.closed:
                self._connections.discard(connection)
            elif connection.unanswered_pings:
                self.dropped += 1
                connection.transport.abort()  # connection_lost follows, with close code 1006
            elif not connection.closing:
                connection.ping()
            if index % SWEEP_SLICE == SWEEP_SLICE - 1:
                await asyncio.sleep(0)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sweep()
            except Exception:  # never let one bad sweep stop the keep-alive for everyone
                log.exception("heartbeat sweep failed")


def heartbeat_lifetime(heartbeat: Heartbeat):  # type: ignore[no-untyped-def]
    """A cleanup_ctx entry running `heartbeat` while the app is up."""

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.ensure_future(heartbeat.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return lifetime
