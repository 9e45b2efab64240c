"""The WebSocket opening handshake, completed by wsproto, so the connection can leave aiohttp.

Why take the connection: an aiohttp WebSocketResponse keeps, for the whole life of a fan, the
request, its HTTP parser and protocol, a reader queue, a writer, a heartbeat timer and a task
with its suspended coroutine frames (docs/architecture.md gives the figures). A fan of ours is
a `websocket.WebSocketConnection` (framing only) and its session, a few KB. The request is
still routed, checked and logged by aiohttp and our middlewares like any other; only after
every check has passed does `take_over` switch the socket to our protocol (handoff.py).

The answer is wsproto's own (`H11Handshake.initiate_upgrade_connection` for a request another
server parsed, then `AcceptConnection`), and so is the connection it hands back: no accept key
or 101 of ours. No compression extension is ever agreed (an offer is declined by leaving it
out), so every fan can be sent the same pre-built frame bytes.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from wsproto.connection import Connection, ConnectionType
from wsproto.events import AcceptConnection
from wsproto.handshake import H11Handshake
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from .handoff import hand_over, release_later


# The request headers wsproto's handshake reads (wsproto.handshake._process_connection_request):
# h11 checks every header it is given again, so only these are passed (cookies and user agents
# would cost time and change nothing).
HANDSHAKE_HEADERS = frozenset({
    b"host", b"connection", b"upgrade", b"sec-websocket-key", b"sec-websocket-version",
    b"sec-websocket-extensions", b"sec-websocket-protocol",
})


@dataclass(frozen=True, slots=True)
class Upgrade:
    """An accepted upgrade: the 101 answer to send, and the connection that follows it."""

    answer: bytes
    connection: Connection


def accept_upgrade(request: web.Request) -> Upgrade:
    """wsproto's answer to a valid upgrade request; raises HTTPBadRequest otherwise."""
    key = request.headers.get("Sec-WebSocket-Key", "")
    try:  # wsproto takes any key; RFC 6455 4.2.1 wants 16 random bytes in base64
        valid = len(base64.b64decode(key, validate=True)) == 16
    except binascii.Error:
        valid = False
    if not valid and "Sec-WebSocket-Key" in request.headers:
        raise web.HTTPBadRequest(reason=f"Handshake error: bad Sec-WebSocket-Key {key[:64]!r}")
    handshake = H11Handshake(ConnectionType.SERVER)
    try:
        headers = [(name, value) for name, value in request.raw_headers if name.lower() in HANDSHAKE_HEADERS]
        handshake.initiate_upgrade_connection(headers, request.raw_path)
        answer = handshake.send(AcceptConnection())
    except (RemoteProtocolError, LocalProtocolError) as exc:
        version = {"Sec-WebSocket-Version": "13"} if "Version" in str(exc) else None
        raise web.HTTPBadRequest(reason=f"Not a WebSocket upgrade: {exc}", headers=version) from None
    connection = handshake.connection
    assert connection is not None  # AcceptConnection made it
    return Upgrade(answer, connection)


def take_over(
    request: web.Request, upgrade: Upgrade,
    protocol_for: Callable[[asyncio.Transport, Connection], asyncio.Protocol],
) -> tuple[web.StreamResponse, bytes]:
    """Send the 101 answer and hand the socket to `protocol_for(transport, connection)`.

    Returns what the handler must return (a response that writes nothing, so aiohttp finishes
    the request and our middlewares log it as 101 without touching the socket again) and the
    bytes the client sent right behind its request, for the new protocol to read first.
    """
    transport = request.transport
    http = request.protocol
    if transport is None or transport.is_closing():
        raise ConnectionResetError("the client went away during the handshake")
    protocol = protocol_for(transport, upgrade.connection)  # type: ignore[arg-type]
    transport.write(upgrade.answer)
    tail = hand_over(http, transport, protocol)  # type: ignore[arg-type]
    return HandedOver(release_later(http)), tail


class HandedOver(web.StreamResponse):
    """The handler's answer once the socket is ours: aiohttp sends nothing for it."""

    def __init__(self, release: Callable[[], None]) -> None:
        super().__init__(status=101)
        self._release: Callable[[], None] | None = release

    async def prepare(self, request: web.BaseRequest) -> None:  # type: ignore[override]
        return None  # the 101 went out in take_over

    async def write_eof(self, data: bytes = b"") -> None:
        # Tell aiohttp's protocol its connection is gone, once it has finished with this
        # request: the server then stops counting it (and will not wait for it at shutdown;
        # the connection registry closes fans itself).
        release, self._release = self._release, None
        if release is not None:
            release()
