"""The WebSocket opening handshake (RFC 6455 4.2): checking an upgrade request and answering it.

One set of rules for both ways a `/ws` request arrives: straight off the socket at the front
door (front.py, the usual case) and through aiohttp's routing (ws.py, for what the front door
leaves to aiohttp). The checks are wsproto's own, in its order and with its messages
(`wsproto.handshake.H11Handshake._process_connection_request`); the accept token is wsproto's
`generate_accept_token`, and the connection a fan reads frames with is a wsproto `Connection`.

Why not wsproto's `H11Handshake` itself (`initiate_upgrade_connection` + `AcceptConnection`),
which the edge used before: it rebuilds the request as an h11 event, validating every header
again, and builds the answer through h11's writer: 108 µs per connection here
(bench/ws_handoff_micro.py), two thirds of what the textbook aiohttp loop spends on a whole
connection, for the same 101 bytes (tests/test_websocket_protocol.py compares them). At a
deploy's reconnect storm that alone was a second of CPU per 10,000 fans (issue 14).

No compression extension is ever agreed (an offer is declined by leaving it out), so every fan
can be sent the same pre-built frame bytes; no subprotocol is chosen either.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from wsproto.connection import Connection, ConnectionType
from wsproto.utilities import generate_accept_token

from .handoff import hand_over, release_later

WEBSOCKET_VERSION = "13"
_ANSWER_HEAD = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "


class NotAnUpgrade(ValueError):
    """The request is not a valid WebSocket upgrade: `reason` says why (wsproto's words), and
    `headers` go with the 400 (the version we speak, for a client asking another)."""

    def __init__(self, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.headers = headers or {}


def check_upgrade(method: str, header: Callable[[str], str | None]) -> str:
    """The request's Sec-WebSocket-Key, once the request is a valid version-13 upgrade;
    raises NotAnUpgrade otherwise. `header(name)` gives a header's value by its lower-case
    name (None when absent): aiohttp's `request.headers.get`, or a dict of lower-case names."""
    if method != "GET":
        raise NotAnUpgrade("Not a WebSocket upgrade: Request method must be GET")
    connection = header("connection")
    if connection is None or not any(token.strip().lower() == "upgrade" for token in connection.split(",")):
        raise NotAnUpgrade("Not a WebSocket upgrade: Missing header, 'Connection: Upgrade'")
    version = header("sec-websocket-version")
    if version != WEBSOCKET_VERSION:
        raise NotAnUpgrade(
            "Not a WebSocket upgrade: Missing header, 'Sec-WebSocket-Version'",
            {"Sec-WebSocket-Version": WEBSOCKET_VERSION},
        )
    key = header("sec-websocket-key")
    if key is None:
        raise NotAnUpgrade("Not a WebSocket upgrade: Missing header, 'Sec-WebSocket-Key'")
    upgrade = header("upgrade")
    if upgrade is None or upgrade.lower() != "websocket":
        raise NotAnUpgrade("Not a WebSocket upgrade: Missing header, 'Upgrade: websocket'")
    if header("host") is None:
        raise NotAnUpgrade("Not a WebSocket upgrade: Missing header, 'Host'")
    if not valid_key(key):  # wsproto takes any key; RFC 6455 4.2.1 wants 16 random bytes in base64
        raise NotAnUpgrade(f"Handshake error: bad Sec-WebSocket-Key {key[:64]!r}")
    return key


def valid_key(key: str) -> bool:
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def answer(key: str) -> bytes:
    """The 101 for a checked key: the bytes wsproto's AcceptConnection sends."""
    return _ANSWER_HEAD + generate_accept_token(key.encode("ascii")) + b"\r\n\r\n"


def server_connection() -> Connection:
    """wsproto's side of an accepted connection (as its handshake makes it, no extension)."""
    return Connection(ConnectionType.SERVER)


@dataclass(frozen=True, slots=True)
class Upgrade:
    """An accepted upgrade: the 101 answer to send, and the connection that follows it."""

    answer: bytes
    connection: Connection


def accept_upgrade(request: web.Request) -> Upgrade:
    """The answer to a valid upgrade request that came through aiohttp; raises HTTPBadRequest
    otherwise."""
    try:
        key = check_upgrade(request.method, request.headers.get)
    except NotAnUpgrade as exc:
        raise web.HTTPBadRequest(reason=exc.reason, headers=exc.headers or None) from None
    return Upgrade(answer(key), server_connection())


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
