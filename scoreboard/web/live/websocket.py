"""A server's side of an open WebSocket, lean enough for 10,000s of fans.

After `handshake.take_over` the socket belongs to a `WebSocketConnection`. The RFC 6455 rules
for what clients send (masking, fragments, control frames, UTF-8, close codes) are wsproto's,
a sans-IO library: it is fed the bytes read and tells us the events. We add what wsproto
leaves to its user: the message size limit, backpressure, the closing timeout, and handing
whole text messages to the listener. It holds no task and no timer while idle; keep-alive
pings for every connection come from one `heartbeat.Heartbeat`.

Writes are whole frames in one `transport.write`, from the event loop's thread, so frames never
interleave: the fan-out writes its pre-built event frames straight to `transport` too (no
extension is ever agreed, so those bytes are what wsproto would have framed).
"""
from __future__ import annotations

import asyncio
from typing import Protocol

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

from ...hub import WRITE_HIGH_WATER, websocket_text_frame
from .close_codes import CloseCode

# Seconds to wait for the client's answer to our close frame before dropping the connection
# (as aiohttp's WebSocketResponse does).
CLOSE_TIMEOUT = 10.0

PING_FRAME = b"\x89\x00"  # FIN + ping, no payload: the same bytes every time


class Listener(Protocol):
    """What a connection tells its owner; called on the event loop, must not block."""

    def on_text(self, text: str) -> None: ...

    def on_binary(self) -> None: ...

    def on_closing(self) -> None:
        """A close frame was sent or received, or the socket is gone: write nothing more."""

    def on_closed(self, code: int) -> None: ...


class WebSocketConnection(asyncio.Protocol):
    """One open WebSocket. `transport` is public: the fan-out writes frames to it directly."""

    __slots__ = (
        "transport", "_listener", "_max_message", "_ws", "_parts", "_size", "closing", "closed",
        "close_code", "_close_timer", "_paused", "_drain_waiter", "_closed_waiter",
        "unanswered_pings", "_failed",
    )

    def __init__(self, transport: asyncio.Transport, listener: Listener, max_message: int) -> None:
        self.transport = transport
        self._listener = listener
        self._max_message = max_message
        self._ws = Connection(ConnectionType.SERVER)  # no extensions: never compressed
        self._parts: list[str | bytes | bytearray] | None = None  # a message arriving in pieces
        self._size = 0  # its bytes so far, against max_message
        self.closing = False  # a close frame was sent or received: no more data frames
        self.closed = False  # the TCP connection is gone
        self.close_code: int | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._closed_waiter: asyncio.Future[None] | None = None
        self.unanswered_pings = 0  # heartbeat.py: pings sent since the client was last heard
        self._failed = False  # a protocol error: whatever else arrives is discarded
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)

    # -- writing ---------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        """Queue one text message; dropped once closing (nothing may follow a close frame).

        Framed like the fan-out's event frames (hub.websocket_text_frame): a third of what
        wsproto's general-purpose send costs, and the same bytes for an unfragmented message.
        """
        if not self.closing:
            self.transport.write(websocket_text_frame(text.encode()))

    async def drain(self) -> None:
        """Wait while the socket's write buffer is over the high-water mark.

        Raises ConnectionResetError when the connection is gone.
        """
        while self._paused and not self.closed:
            if self._drain_waiter is None:
                self._drain_waiter = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._drain_waiter)
        if self.closed:
            raise ConnectionResetError("the WebSocket is closed")

    def ping(self) -> None:
        if not self.closing:
            self.unanswered_pings += 1
            self.transport.write(PING_FRAME)

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake; the TCP connection ends when the client answers."""
        if self.closing or self.closed:
            return
        self._begin_closing(code)
        self.transport.write(self._ws.send(CloseConnection(code=code, reason=reason)))
        self._close_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self.transport.abort)

    async def wait_closed(self) -> None:
        if self.closed:
            return
        if self._closed_waiter is None:
            self._closed_waiter = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._closed_waiter)

    def _begin_closing(self, code: int) -> None:
        self.closing = True
        self.close_code = code
        self._parts = None
        self._listener.on_closing()

    # -- asyncio.Protocol --------------------------------------------------------------------

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_drain()

    def eof_received(self) -> bool:
        return False  # a client that half-closes is gone: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        if not self.closing:
            self._begin_closing(CloseCode.ABNORMAL_CLOSURE)
        self.closed = True
        self._paused = False
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self._wake_drain()
        if self._closed_waiter is not None and not self._closed_waiter.done():
            self._closed_waiter.set_result(None)
        self._listener.on_closed(self.close_code if self.close_code is not None else CloseCode.ABNORMAL_CLOSURE)

    def _wake_drain(self) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.unanswered_pings = 0  # any byte is a sign of life
        if self._failed or self.transport.is_closing():
            return
        ws = self._ws
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                if not self.closing and not self._on_data(event):
                    return
            elif isinstance(event, Ping):
                if not self.closing:
                    self.transport.write(ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._on_close(event)
                return
            # a Pong only needs to have arrived: the ping count is reset above

    def _on_data(self, event: TextMessage | BytesMessage) -> bool:
        """Collect a message's pieces; False when the connection failed on it."""
        data = event.data
        self._size += len(data.encode()) if isinstance(data, str) else len(data)
        if self._size > self._max_message:
            return self._fail(CloseCode.MESSAGE_TOO_BIG, "message too big")
        if not event.message_finished:
            if self._parts is None:
                self._parts = []
            self._parts.append(data)
            return True
        parts, self._parts, self._size = self._parts, None, 0
        if isinstance(event, TextMessage):
            text = event.data
            self._listener.on_text("".join([*(str(part) for part in parts), text]) if parts else text)
        else:
            self._listener.on_binary()
        return True

    def _on_close(self, event: CloseConnection) -> None:
        state = self._ws.state
        if state is ConnectionState.CLOSED:
            # The answer to our close frame: the handshake is done, end the TCP connection.
            self.transport.close()
        elif state is ConnectionState.REMOTE_CLOSING:
            # The client closes: echo its code, then end the TCP connection (the server's part).
            self._begin_closing(event.code)
            self.transport.write(self._ws.send(event.response()))
            self.transport.close()
        else:
            # Not a close frame but a protocol error wsproto found (1002, 1007...).
            self._fail(event.code, event.reason or "protocol error")

    def _fail(self, code: int, reason: str) -> bool:
        """Fail the connection (RFC 6455 section 7.1.7): say why if we still may, then hang up."""
        self._failed = True
        if not self.closing:
            self._begin_closing(code)
            self.transport.write(self._ws.send(CloseConnection(code=code, reason=reason)))
        self.transport.close()
        return False
