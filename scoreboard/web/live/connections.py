"""Open live connections (WebSocket and SSE), so shutdown can tell each one to reconnect."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from .close_codes import CloseCode


class LiveConnection(Protocol):
    async def close_for_restart(self, code: int, reason: str) -> None:
        """Tell the client to reconnect (WebSocket close code, or an SSE message) and end."""


def _nothing(protocol: object) -> None:
    """No listener to tell (an app served by a test server)."""


class ConnectionRegistry:
    def __init__(self) -> None:
        self._open: set[LiveConnection] = set()
        # Open WebSockets: no longer aiohttp's connections once taken over (listener.py counts them).
        self.websockets = 0
        # Told of the aiohttp protocol a WebSocket leaves, so the connection is not counted twice
        # (server.py sets it to the listener's ConnectionGuard.taken_over).
        self.taken_over: Callable[[object], None] = _nothing
        # What live clients are told at shutdown: going away, or restart (SIGTERM).
        self.close_code: CloseCode = CloseCode.GOING_AWAY
        # close_all: the fans told to close and not gone yet, and what says they all are.
        self._closing: set[LiveConnection] = set()
        self._all_closed: asyncio.Future[None] | None = None

    def add(self, connection: LiveConnection) -> None:
        if connection not in self._open:
            self._open.add(connection)
            if getattr(connection, "transport", None) == "ws":
                self.websockets += 1

    def discard(self, connection: LiveConnection) -> None:
        if connection in self._open:
            self._open.discard(connection)
            if getattr(connection, "transport", None) == "ws":
                self.websockets -= 1
            closing = self._closing
            if closing:
                closing.discard(connection)
                if not closing and self._all_closed is not None and not self._all_closed.done():
                    self._all_closed.set_result(None)

    def __len__(self) -> int:
        return len(self._open)

    def counts(self) -> dict[str, int]:
        """Open connections by transport (`ws`, `sse`), for the metrics scrape."""
        counts: dict[str, int] = {}
        for connection in tuple(self._open):
            transport = getattr(connection, "transport", "other")
            counts[transport] = counts.get(transport, 0) + 1
        return counts

    async def close_all(self, code: int, reason: str, timeout: float = 30.0) -> None:
        """Close every connection at once; one stuck client cannot hold up the rest.

        A WebSocket fan (`close_soon`) is sent its close frame at once and closes by itself
        (answered, or dropped after its closing timeout); only the whole set is waited for,
        not a task and a timer per fan: at a deploy there are tens of thousands, and the new
        process may share the old one's CPU (the deploy storm, issue 14).
        """
        connections = tuple(self._open)
        if not connections:
            return
        loop = asyncio.get_running_loop()
        closing: set[LiveConnection] = set()
        waits = []
        for connection in connections:
            close_soon = getattr(connection, "close_soon", None)
            if close_soon is not None:
                closing.add(connection)
                close_soon(code, reason)
            else:
                waits.append(connection.close_for_restart(code, reason))
        closing &= self._open  # some went at once
        if closing:
            self._closing = closing
            self._all_closed = loop.create_future()
            waits.append(asyncio.wait_for(asyncio.shield(self._all_closed), timeout))
        await asyncio.gather(*waits, return_exceptions=True)
