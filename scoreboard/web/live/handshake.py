"""The WebSocket opening handshake, answered here so the connection can leave aiohttp.

Why take the connection: an aiohttp WebSocketResponse keeps, for the whole life of a fan, the
request, its HTTP parser and protocol, a reader queue, a writer, a heartbeat timer and a task
with its suspended coroutine frames: about 13 KB per idle fan on top of the socket. A fan of
ours is a `websocket.WebSocketConnection` (framing only) and its session, a few KB. The
request is still routed, checked and logged by aiohttp and our middlewares like any other;
only after every check has passed does `take_over` switch the socket to our protocol.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Callable

from aiohttp import web

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


def accept_key(request: web.Request) -> bytes:
    """Sec-WebSocket-Accept for a valid upgrade request; raises HTTPBadRequest otherwise.

    The same checks, and the same messages, as aiohttp's own handshake.
    """
    headers = request.headers
    if headers.get("Upgrade", "").lower().strip() != "websocket":
        raise web.HTTPBadRequest(
            reason=f"No WebSocket UPGRADE hdr: {headers.get('Upgrade')}. Can \"Upgrade\" only to \"WebSocket\"."
        )
    tokens = {token.strip().lower() for token in headers.get("Connection", "").split(",")}
    if "upgrade" not in tokens:
        raise web.HTTPBadRequest(reason=f"No CONNECTION upgrade hdr: {headers.get('Connection')}")
    version = headers.get("Sec-WebSocket-Version", "")
    if version not in ("13", "8", "7"):
        raise web.HTTPBadRequest(reason=f"Unsupported version: {version}")
    key = headers.get("Sec-WebSocket-Key", "")
    try:
        valid = len(base64.b64decode(key, validate=True)) == 16
    except binascii.Error:
        valid = False
    if not valid:
        raise web.HTTPBadRequest(reason=f"Handshake error: {key[:64]!r}")
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())


def take_over(
    request: web.Request, accept: bytes, protocol_for: Callable[[asyncio.Transport], asyncio.Protocol],
) -> web.StreamResponse:
    """Send the 101 answer and hand the socket to `protocol_for(transport)`.

    No compression extension is ever agreed (a `Sec-WebSocket-Extensions` offer is declined by
    leaving it out), so every fan can be sent the same pre-built frame bytes. Returns what the
    handler must return: a response that writes nothing, so aiohttp finishes the request (and
    our middlewares log it as 101) without touching the socket again.
    """
    transport = request.transport
    http = request.protocol
    if transport is None or transport.is_closing():
        raise ConnectionResetError("the client went away during the handshake")
    protocol = protocol_for(transport)  # type: ignore[arg-type]
    # From here on every byte read goes to our protocol, and aiohttp can neither write to the
    # socket nor close it: its protocol object only has `transport` to reach it.
    transport.set_protocol(protocol)
    http.transport = None
    transport.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    transport.resume_reading()  # in case aiohttp had paused it for its own buffering
    return HandedOver(http)


class HandedOver(web.StreamResponse):
    """The handler's answer once the socket is ours: aiohttp sends nothing for it."""

    def __init__(self, http: asyncio.BaseProtocol) -> None:
        super().__init__(status=101)
        self._http: asyncio.BaseProtocol | None = http

    async def prepare(self, request: web.BaseRequest) -> None:  # type: ignore[override]
        return None  # the 101 went out in take_over

    async def write_eof(self, data: bytes = b"") -> None:
        # Tell aiohttp's protocol its connection is gone, once it has finished with this
        # request: the server then stops counting it (and will not wait for it at shutdown;
        # the connection registry closes fans itself).
        http, self._http = self._http, None
        if http is not None:
            asyncio.get_running_loop().call_soon(http.connection_lost, None)
