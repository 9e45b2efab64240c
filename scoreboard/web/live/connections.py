"""Open live connections (WebSocket and SSE), so shutdown can tell each one to reconnect."""
from __future__ import annotations

import asyncio
from typing import Protocol

from .close_codes import CloseCode


class LiveConnection(Protocol):
    async def close_for_restart(self, code: int, reason: str) -> None:
        """Tell the client to reconnect (WebSocket close code, or an SSE message) and end."""


class ConnectionRegistry:
    def __init__(self) -> None:
        self._open: set[LiveConnection] = set()
        # What live clients are told at shutdown: going away, or restart (SIGTERM).
        self.close_code: CloseCode = CloseCode.GOING_AWAY

    def add(self, connection: LiveConnection) -> None:
        self._open.add(connection)

    def discard(self, connection: LiveConnection) -> None:
        self._open.discard(connection)

    def __len__(self) -> int:
        return len(self._open)

    def counts(self) -> dict[str, int]:
        """Open connections by transport (`ws`, `sse`), for the metrics scrape."""
        counts: dict[str, int] = {}
        for connection in tuple(self._open):
            transport = getattr(connection, "transport", "other")
            counts[transport] = counts.get(transport, 0) + 1
        return counts

    async def close_all(self, code: int, reason: str) -> None:
        """Close every connection at once; one stuck client cannot hold up the rest."""
        connections = tuple(self._open)
        if connections:
            await asyncio.gather(
                *(c.close_for_restart(code, reason) for c in connections), return_exceptions=True,
            )
