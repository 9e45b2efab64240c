"""The front door: a `/ws` upgrade opened straight from a new connection's first bytes.

Every new TCP connection meets `listener.FrontDoor` first, which offers its first read to
`LiveFrontDoor.open`. When that read is a whole, plain WebSocket upgrade to `/ws` that passes
every check the aiohttp route makes (handshake.py, origins, match ids and cursors, the opening
and per-address caps), the fan is opened here, within that one call: parsed by httptools (the
llhttp parser aiohttp's own C parser is built on), answered 101 and handed to its
`WebSocketConnection`, with no aiohttp request, routing, middleware or task. Anything else goes
to aiohttp byte for byte: other requests, and every upgrade a check refuses, so each error
answer (400, 403, 429, 503 with its JSON body) is made in one place, the route (ws.py).

Why (issue 14): the route costs ~2x the textbook aiohttp loop per connection, and a deploy's
reconnect storm is thousands of connections a second. What the front door leaves out is what a
fan never needed: an aiohttp request object, its middlewares' timing and logging, a task per
request, and the hand-off of the socket back out of aiohttp (handoff.py).

To stay on the route's side of every doubt, the front door takes only what it can read
without interpretation: one segment holding the whole head, ASCII, HTTP/1.1, no body, no
%-escapes or `+` in the target (the route's decoding then cannot differ), no repeated header
(aiohttp refuses some repeated, 400), and a head within aiohttp's parser limits (a line or
field over 8190 bytes, or over 128 headers, is a 400 there). A request that is anything else
is the route's.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools
from aiohttp import web

from ..errors import request_id_from
from ..keys import CONNECTIONS_KEY, HANDSHAKES_KEY, SETTINGS_KEY
from ..metrics import METRICS_KEY, opened_fields
from ..security.limits import TooManyConnections, forwarded_client
from ..security.origins import origin_allowed
from .access import LiveSlot
from .admission import ServerBusy
from .handshake import NotAnUpgrade, answer, check_upgrade, server_connection
from .session import Cursor, invalid_match_ids, parse_matches, parse_since
from .ws import WebSocketFan

log = logging.getLogger(__name__)

PREFIX = b"GET /ws"
# A head longer than this, or with more headers, is the route's: aiohttp refuses a request
# line or header field over 8190 bytes (max_line_size, max_field_size) and, from 3.14, more
# than 128 headers (max_headers), and a fan must not open here for a request it refuses.
MAX_HEAD_BYTES = 8190
MAX_HEADERS = 128
# The headers the front door reads.
READ_HEADERS = frozenset({
    b"host", b"upgrade", b"connection", b"sec-websocket-key", b"sec-websocket-version",
    b"origin", b"x-forwarded-for", b"x-request-id",
})
# A body on an upgrade request is the route's to refuse.
BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})
UNREAD_TARGET = (b"%", b"+", b"#")

# Hands the bytes read so far to aiohttp (listener.FrontDoor); for an opening that waits on
# Redis (a shared per-address cap) and is then refused.
ToAiohttp = Callable[[bytes], None]


@dataclass(frozen=True, slots=True)
class UpgradeHead:
    """A /ws upgrade request as the front door read it."""

    query: dict[str, str]  # first value of each parameter, undecoded (nothing needed decoding)
    headers: dict[str, str]  # READ_HEADERS present, by lower-case name
    tail: bytes  # bytes the client sent right behind the request (its first frames)


class _Head:
    """httptools' callbacks, collecting the target and headers."""

    __slots__ = ("url", "headers", "complete")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.complete = True


def read_upgrade(data: bytes) -> UpgradeHead | None:
    """`data` as a whole /ws upgrade request the front door may open, or None (the route's)."""
    if not data.startswith(PREFIX) or data[len(PREFIX):len(PREFIX) + 1] not in (b"?", b" "):
        return None
    head = _Head()
    parser = httptools.HttpRequestParser(head)
    try:
        parser.feed_data(data)
        return None  # no upgrade (or not all of the head): the route answers it
    except httptools.HttpParserUpgrade as upgrade:
        end = int(upgrade.args[0])
    except httptools.HttpParserError:
        return None
    if (not head.complete or end > MAX_HEAD_BYTES or len(head.headers) > MAX_HEADERS
            or parser.get_http_version() != "1.1" or not data[:end].isascii()):
        return None
    path, _, query = head.url.partition(b"?")
    if path != b"/ws" or any(mark in head.url for mark in UNREAD_TARGET):
        return None
    headers: dict[str, str] = {}
    seen: set[bytes] = set()
    for raw_name, raw_value in head.headers:
        name = raw_name.lower()
        if name in BODY_HEADERS or name in seen:
            return None  # a body, or a repeated header (aiohttp refuses a second User-Agent...)
        seen.add(name)
        if name in READ_HEADERS:
            headers[name.decode()] = raw_value.decode().strip()
    values: dict[str, str] = {}
    for pair in query.decode().split("&"):
        if pair:
            key, _, value = pair.partition("=")
            values.setdefault(key, value)
    return UpgradeHead(values, headers, data[end:])


class LiveFrontDoor:
    """Opens the /ws fans whose first read allows it; see the module docstring."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._settings = app[SETTINGS_KEY]
        self._metrics = app[METRICS_KEY]
        self._handshakes = app[HANDSHAKES_KEY]
        self.opened = 0  # fans opened here (the rest of /ws came through the route)

    def open(self, transport: asyncio.Transport, data: bytes, to_aiohttp: ToAiohttp) -> bool:
        """Open a fan from `data`, the connection's first read; False leaves it to aiohttp.

        True means the connection is dealt with: open already, or (a shared per-address cap,
        in Redis mode) opening once Redis answers and handed to aiohttp with `to_aiohttp` if
        refused then, or (a fault of ours) handed to aiohttp at once (`_after_fault`).
        """
        door = transport.get_protocol()
        try:
            return self._open(transport, data, to_aiohttp)
        except Exception:
            _after_fault(transport, door, data, to_aiohttp)
            return True

    def _open(self, transport: asyncio.Transport, data: bytes, to_aiohttp: ToAiohttp) -> bool:
        head = read_upgrade(data)
        if head is None:
            return False
        headers = head.headers
        try:
            key = check_upgrade("GET", headers.get)
        except NotAnUpgrade:
            return False
        settings = self._settings
        if self._metrics.draining or not origin_allowed(headers.get("origin"), settings.allowed_origins):
            return False
        query = head.query
        try:
            matches = parse_matches(query.get("matches", ""))
            since = parse_since(query.get("since", ""))
        except ValueError:
            return False
        if invalid_match_ids(matches) or self._handshakes.full():
            return False
        peer = transport.get_extra_info("peername")
        remote = peer[0] if isinstance(peer, tuple) else None
        client = forwarded_client(headers.get("x-forwarded-for"), remote, settings.trust_forwarded)
        try:
            slot = LiveSlot(self._app, client)
            taking = slot.take()
        except (ServerBusy, TooManyConnections):
            return False  # the route refuses it again, in its own words
        opening = (key, head, client, remote, matches, since)
        if taking is None:
            self._accept(transport, slot, *opening)
            return True
        transport.pause_reading()  # nothing more is read until the fan's connection reads it
        task = asyncio.ensure_future(self._accept_when_taken(taking, transport, data, to_aiohttp, slot, *opening))
        _OPENING.add(task)
        task.add_done_callback(_OPENING.discard)
        return True

    async def _accept_when_taken(
        self, taking: Any, transport: asyncio.Transport, data: bytes, to_aiohttp: ToAiohttp, slot: LiveSlot,
        *opening: Any,
    ) -> None:
        try:
            await taking
        except Exception:  # refused (429), or Redis unreachable: the route says so
            if not transport.is_closing():
                transport.resume_reading()
                to_aiohttp(data)
            return
        if transport.is_closing():
            slot.release()
            return
        door = transport.get_protocol()
        try:
            self._accept(transport, slot, *opening)
        except Exception:
            _after_fault(transport, door, data, to_aiohttp)
            return
        transport.resume_reading()

    def _accept(
        self, transport: asyncio.Transport, slot: LiveSlot, key: str, head: UpgradeHead, client: str,
        remote: str | None, matches: list[str], since: dict[str, Cursor],
    ) -> None:
        """Hand the socket to a new fan, its 101 held back to go out with the first catch-up."""
        door = transport.get_protocol()
        try:
            fan = WebSocketFan(self._app, slot, client)
            connection = fan.connect(transport, server_connection(), corked=answer(key))
            transport.set_protocol(connection)
        except BaseException:
            slot.release()
            raise
        self._app[CONNECTIONS_KEY].taken_over(door)  # a WebSocket now, counted as one (listener.py)
        self.opened += 1
        fields = opened_fields(fan.transport, "/ws", remote, request_id_from(head.headers.get("x-request-id")))
        fan.opened(head.query.get("token"), matches, since, fields)
        if head.tail:
            connection.data_received(head.tail)  # a first message sent right behind the request


def _after_fault(transport: asyncio.Transport, door: object, data: bytes, to_aiohttp: ToAiohttp) -> None:
    """A fault of ours while opening: the fan still gets an answer, from aiohttp's route, while
    the socket is still the door's; else (a fan had taken it) the connection ends and the
    client reconnects."""
    log.exception("the /ws front door failed on a new connection")
    if transport.get_protocol() is door:
        transport.resume_reading()
        to_aiohttp(data)
    else:
        transport.abort()


# Openings waiting on Redis for their per-address place (the loop keeps only weak references).
_OPENING: set[asyncio.Task[None]] = set()
