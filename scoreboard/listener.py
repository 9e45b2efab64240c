"""The listening socket: what each new TCP connection meets before aiohttp handles it.

- A cap on open connections (`max_connections`; by default the open-file limit less a
  reserve): past it a new connection is answered 503 at once and closed, so a flood of
  connections (or a slowloris attack) can never make the process run out of file descriptors
  and lock everyone out, and the clients refused learn so at once instead of hanging.
- The header timeout (`header_timeout`): a new connection whose first request's headers are
  not complete that long after it opened is closed, however slowly they trickle in (slowloris)
  or if nothing comes at all. One timer per connection, armed when it opens, that does nothing
  when it fires on a connection whose first request came in time.
- Keep-alive (`keepalive_timeout`, aiohttp's own): after each answer the next request must be
  complete within that time, or the connection is closed; so an idle keep-alive connection,
  or one trickling its next request, is held that long at most. It is longer than the header
  timeout on purpose: a router in front keeps idle connections to us open for a while, and
  closing them first races its next request on them.
- The front door (`FrontDoor`): a connection's first read goes to the live edge first
  (web/live/front.py), which opens a `/ws` fan from it at once when it can; every other
  connection is handed to aiohttp's request handler with that read, as if aiohttp had
  accepted it (its header deadline carried over).
- Requests aiohttp's parser refuses (a control byte in a header, a bad request line) are
  answered in the service's JSON error shape, like every other error.

aiohttp internals relied on, all here (tested with aiohttp 3.9-3.14, by tests/ops/
test_slowloris.py and tests/hostile/test_hostile_input.py):
- `web.Server()` builds a `RequestHandler` per connection; we change its class to a subclass
  without slots of its own (`__class__` assignment) to count it and to shape its errors.
- `RequestHandler.handle_error(request, status, exc, message)` builds the parser's error answer.
- `RequestHandler._request_count`: requests whose headers were parsed on the connection.
"""
from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Callable
from typing import Any, cast

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from .web.errors import HTTP_CODES

log = logging.getLogger(__name__)

# File descriptors kept back from connections: the store's files, Redis connections, the log,
# the event loop's own, and connections being refused.
FD_RESERVE_MIN = 64
FD_RESERVE_SHARE = 20  # or 1/20 of the limit, when that is more
# A refused connection is closed once its request has been read, or this long after the 503
# if none comes; at most REFUSING_MAX wait at once, past which refusals close at once.
REFUSAL_LINGER = 1.0
REFUSING_MAX = FD_RESERVE_MIN // 2
# The listen() backlog when the kernel's cap cannot be read (aiohttp's own default is 128:
# a deploy's reconnect storm, ~3,000 SYNs a second at 10,000 fans, overflows that queue and
# each dropped SYN costs its fan a one-second retransmit).
BACKLOG_FALLBACK = 4096
SOMAXCONN_PATH = "/proc/sys/net/core/somaxconn"

_REFUSAL_BODY = (
    b'{"error": {"code": "unavailable", "message": "the server has too many open connections: '
    b'retry shortly"}}'
)
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(_REFUSAL_BODY)
) + _REFUSAL_BODY


_TIMEOUT_BODY = b'{"error": {"code": "timeout", "message": "the request headers took too long to arrive"}}'
HEADER_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(_TIMEOUT_BODY)
) + _TIMEOUT_BODY


def open_file_limit() -> int:
    """The process's open-file limit, raised first to the hard limit the host allows (the
    soft limit is often 1,024 where the hard one is far higher)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def connection_cap(max_connections: int, fd_limit: int) -> int:
    """`max_connections`, or (0) the open-file limit less a reserve for everything else."""
    if max_connections:
        return max_connections
    reserve = max(FD_RESERVE_MIN, fd_limit // FD_RESERVE_SHARE)
    return max(1, fd_limit - reserve)


class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's request handler, with its own error answers (a request that is not valid
    HTTP) in the service's shape: `{"error": {"code", "message"}}`."""

    __slots__ = ()

    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None,
    ) -> web.StreamResponse:
        super().handle_error(request, status, exc, message)  # logs it; raises if an answer was begun
        if status >= 500:
            code, text = "internal", "an internal error occurred"
        else:
            reason = (message or "").strip().splitlines()[0] if message else ""
            code = HTTP_CODES.get(status, "bad_request")
            text = f"not a valid HTTP request: {reason}" if reason else "not a valid HTTP request"
        response = web.json_response({"error": {"code": code, "message": text}}, status=status)
        response.force_close()
        return response


class ConnectionGuard:
    """The protocol factory of the listening socket: aiohttp's request handler for a new
    connection while fewer than `limit` are open (HTTP, SSE and WebSocket alike), else a 503."""

    def __init__(
        self, server: web.Server, limit: int, header_timeout: float, live_websockets: Callable[[], int],
        front: OpenLive | None = None,
    ) -> None:
        self._server = server
        self.front = front  # the live edge's front door (web/live/front.py), if any
        self.limit = limit
        self.header_timeout = header_timeout
        self._live_websockets = live_websockets  # WebSockets taken over from aiohttp (live.py)
        # Connections aiohttp handles now -> their header deadline (a timer).
        self._open: dict[RequestHandler | FrontDoor, asyncio.TimerHandle] = {}
        self.refusing = 0
        self.refused = 0
        self.timed_out = 0
        guard = self

        class CountedRequestHandler(JsonErrorRequestHandler):
            __slots__ = ()

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                guard._open[self] = asyncio.get_running_loop().call_later(
                    guard.header_timeout, guard._header_deadline, self,
                )
                super().connection_made(transport)

            def connection_lost(self, exc: BaseException | None) -> None:
                guard.taken_over(self)
                super().connection_lost(exc)

        self._handler_class = CountedRequestHandler

    @property
    def open_connections(self) -> int:
        return len(self._open) + self._live_websockets()

    @property
    def open_http(self) -> int:
        """Connections aiohttp handles now (keep-alive, SSE), WebSockets taken over excluded."""
        return len(self._open)

    def taken_over(self, handler: object) -> None:
        """`handler`'s connection is gone, or is a WebSocket now (counted as one from here on)."""
        deadline = self._open.pop(handler, None)  # type: ignore[call-overload]
        if deadline is not None:
            deadline.cancel()

    def _header_deadline(self, handler: RequestHandler | FrontDoor) -> None:
        if handler not in self._open or handler._request_count:
            return  # gone, or its first request came in time (later ones: keep-alive timeout)
        self.timed_out += 1
        transport = handler.transport
        if transport is not None and not transport.is_closing():
            transport.write(HEADER_TIMEOUT_ANSWER)  # a slow but honest client learns why
        handler.force_close()

    def __call__(self) -> asyncio.BaseProtocol:
        if self.open_connections >= self.limit:
            self.refused += 1
            return _Refused(self)
        if self.front is not None:
            return FrontDoor(self)
        return self._aiohttp_handler()

    def _aiohttp_handler(self) -> RequestHandler:
        handler = self._server()
        handler.__class__ = self._handler_class
        return handler

    def arm(self, front: FrontDoor) -> None:
        """Start a new connection's header deadline."""
        self._open[front] = asyncio.get_running_loop().call_later(self.header_timeout, self._header_deadline, front)

    def hand_to_aiohttp(self, front: FrontDoor, transport: asyncio.Transport, data: bytes) -> None:
        """Give a connection the front door did not keep to aiohttp, with what it read, as if
        aiohttp had accepted it; its header deadline stays the one it opened with."""
        deadline = self._open.pop(front, None)
        handler = self._aiohttp_handler()
        transport.set_protocol(handler)
        handler.connection_made(transport)  # counted, with a fresh deadline: put the old one back
        fresh = self._open.get(handler)
        if deadline is not None and fresh is not None:
            fresh.cancel()
            self._open[handler] = asyncio.get_running_loop().call_at(deadline.when(), self._header_deadline, handler)
        if deadline is not None:
            deadline.cancel()
        if data:
            handler.data_received(data)


# The live edge's front door: (transport, first read, hand-to-aiohttp) -> whether it kept the
# connection (web/live/front.py, LiveFrontDoor.open).
OpenLive = Callable[[asyncio.Transport, bytes, Callable[[bytes], None]], bool]


class FrontDoor(asyncio.Protocol):
    """A new connection until its first read: the live edge opens a /ws fan from it, or
    aiohttp gets the connection and the read. Counted among the open connections meanwhile,
    under the header deadline like any other."""

    __slots__ = ("_guard", "transport", "_request_count")

    def __init__(self, guard: ConnectionGuard) -> None:
        self._guard = guard
        self.transport: asyncio.Transport | None = None
        self._request_count = 0  # what ConnectionGuard._header_deadline reads: none yet

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._guard.arm(self)

    def data_received(self, data: bytes) -> None:
        guard = self._guard
        transport = self.transport
        assert transport is not None and guard.front is not None
        if guard.front(transport, data, self._to_aiohttp):  # a fault of its own included
            if transport.get_protocol() is self:
                # Opening once Redis answers (front.py): still an open connection, counted
                # until the fan takes it over; its request came in time (no 408).
                self._request_count = 1
            else:
                guard.taken_over(self)
        else:
            self._to_aiohttp(data)

    def _to_aiohttp(self, data: bytes) -> None:
        assert self.transport is not None
        self._guard.hand_to_aiohttp(self, self.transport, data)

    def eof_received(self) -> bool:
        return False  # closed before saying anything: close

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.taken_over(self)

    def force_close(self) -> None:
        """Past the header deadline with nothing read (ConnectionGuard._header_deadline)."""
        if self.transport is not None:
            self.transport.close()


class _Refused(asyncio.Protocol):
    """A connection past the cap: the 503 answer, then closed once the client has read it."""

    def __init__(self, guard: ConnectionGuard) -> None:
        self._guard = guard
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses
        self._transport = transport
        self._guard.refusing += 1
        transport.write(REFUSAL)
        if self._guard.refusing > REFUSING_MAX or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()  # the answer, then FIN; the client's close ends the connection
        self._timer = asyncio.get_running_loop().call_later(REFUSAL_LINGER, transport.abort)

    def data_received(self, data: bytes) -> None:
        # The request (not needed for the answer) is read off the socket before closing it:
        # closing with unread input would send a reset, which can destroy the answer in flight.
        if self._transport is not None:
            self._transport.close()

    def eof_received(self) -> bool:
        return False  # the client is done: close

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.refusing -= 1
        if self._timer is not None:
            self._timer.cancel()


def listen_backlog(path: str = SOMAXCONN_PATH) -> int:
    """The largest accept queue the kernel grants (net.core.somaxconn; it silently caps a
    larger request anyway), or BACKLOG_FALLBACK where it cannot be read."""
    try:
        with open(path, encoding="ascii") as file:
            value = int(file.read().strip())
    except (OSError, ValueError):
        return BACKLOG_FALLBACK
    return value if value > 0 else BACKLOG_FALLBACK


async def listen(guard: ConnectionGuard, host: str, port: int, reuse_port: bool = False) -> asyncio.AbstractServer:
    """Start accepting connections on host:port through `guard`."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        guard, host, port, reuse_port=reuse_port or None, backlog=listen_backlog(),
    )
