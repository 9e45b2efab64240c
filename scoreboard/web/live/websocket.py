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

What a hostile client cannot do (issue 10): make us queue answers it never reads (at most one
pong waits at a time, a newer ping replacing the one still owed; control frames beyond
`CONTROL_FRAMES_PER_SECOND` close the connection with 1008; outgoing bytes past
`OUTGOING_LIMIT` cut it), keep itself alive by sending pings (only a pong or a message counts as
a sign of life for the heartbeat), or grow a message from endless empty fragments
(`MAX_FRAGMENTS`, 1009).
"""
from __future__ import annotations

import asyncio
from typing import Protocol

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from .close_codes import CloseCode
from .framing import websocket_text_frame

# Bytes that may wait in a connection's write buffer before frames for it are queued as shared
# Frame objects instead (session.py; the kernel's own buffer is full by then), and the mark
# above which asyncio tells us to pause writing.
WRITE_HIGH_WATER = 16 * 1024

# Seconds to wait for the client's answer to our close frame before dropping the connection
# (as aiohttp's WebSocketResponse does).
CLOSE_TIMEOUT = 10.0

PING_FRAME = b"\x89\x00"  # FIN + ping, no payload: the same bytes every time

# Control frames (ping, pong, close) a client may send per second; a flood past it is closed
# with 1008. Browsers send none; a library client pings every few seconds at most.
CONTROL_FRAMES_PER_SECOND = 64
# Bytes that may wait in a connection's write buffer before it is cut (1013, no closing
# handshake: its close frame could not get through either). Above one whole snapshot, far
# below what would hurt the process; the session's frame queue (subscriber_buffer) usually
# cuts a slow fan long before.
OUTGOING_LIMIT = 4 * 1024 * 1024
# Frames one message may arrive in: empty continuation frames add nothing to the size check,
# so without a count a message of endless empty fragments would never end (1009 past it).
MAX_FRAGMENTS = 1024


class Transport(Protocol):
    """What a session writes event frames to: an asyncio transport (uvloop's too)."""

    def get_write_buffer_size(self) -> int: ...

    def write(self, data: bytes) -> None: ...


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
        "unanswered_pings", "_failed", "_pong_owed", "_pong_buffered", "_control_second",
        "_control_count", "_over_at_last_check", "_fragments", "_corked",
    )

    def __init__(self, transport: asyncio.Transport, listener: Listener, max_message: int,
                 ws: Connection | None = None, corked: bytes | None = None) -> None:
        self.transport = transport
        self._listener = listener
        self._max_message = max_message
        # wsproto's side of the connection, as its handshake made it (handshake.py): no
        # extension agreed, so never compressed.
        self._ws = ws if ws is not None else Connection(ConnectionType.SERVER)
        self._parts: list[str | bytes | bytearray] | None = None  # a message arriving in pieces
        self._size = 0  # its bytes so far, against max_message
        self._fragments = 0  # its frames so far, against MAX_FRAGMENTS
        self.closing = False  # a close frame was sent or received: no more data frames
        self.closed = False  # the TCP connection is gone
        self.close_code: int | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._closed_waiter: asyncio.Future[None] | None = None
        self.unanswered_pings = 0  # heartbeat.py: pings sent since the client was last heard
        self._failed = False  # a protocol error: whatever else arrives is discarded
        # A pong waiting for the write buffer to empty (the payload of the latest ping), and
        # whether the last pong written may still sit in that buffer: never more than one each.
        self._pong_owed: bytes | None = None
        self._pong_buffered = False
        self._control_second = 0  # the whole loop second the control frames below arrived in
        self._control_count = 0
        self._over_at_last_check = False  # heartbeat.py: the write buffer was over its mark
        # While the opening is under way (the 101, then the first catch-up): what is written
        # waits here and goes out in one write at `uncork` (one syscall, one segment to the
        # client instead of three). Held only that long: see `uncork`.
        self._corked: list[bytes] | None = [corked] if corked is not None else None
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)

    # -- writing ---------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        """Queue one text message; dropped once closing (nothing may follow a close frame).

        Framed like the fan-out's event frames (framing.websocket_text_frame): a third of what
        wsproto's general-purpose send costs, and the same bytes for an unfragmented message.
        """
        if not self.closing:
            self.write(websocket_text_frame(text.encode()))

    def write(self, data: bytes) -> None:
        """Bytes of whole frames to the socket; a client that lets `OUTGOING_LIMIT` pile up
        unread is cut (1013: it may resume with since once it reads again)."""
        corked = self._corked
        if corked is not None:
            corked.append(data)
            return
        transport = self.transport
        transport.write(data)
        if transport.get_write_buffer_size() > OUTGOING_LIMIT:
            self.cut(CloseCode.TRY_AGAIN_LATER)

    def uncork(self) -> None:
        """Send what the opening wrote, in one write; from now on writes go out at once.

        Called once the first catch-up is written, before waiting on the client for anything
        (its auth message), and before any close frame, so nothing waits here for long.
        """
        corked, self._corked = self._corked, None
        if corked:
            self.write(b"".join(corked))

    def cut(self, code: int) -> None:
        """End the connection at once, unread bytes dropped (no closing handshake can get
        through a full buffer); the listener hears `code`."""
        if not self.closing:
            self._begin_closing(code)
        self._failed = True
        self.transport.abort()

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
            self.write(PING_FRAME)
            self.flush_pong()

    def stalled(self) -> bool:
        """Called once per heartbeat round: whether the write buffer was over its high-water
        mark at this round and the one before, i.e. the client read nothing for a whole round."""
        over = self.transport.get_write_buffer_size() > WRITE_HIGH_WATER
        stalled, self._over_at_last_check = over and self._over_at_last_check, over
        return stalled

    def flush_pong(self) -> None:
        """Send the pong owed to the client once nothing of ours waits before it."""
        if self._pong_owed is not None and not self.transport.get_write_buffer_size() and not self.closing:
            payload, self._pong_owed = self._pong_owed, None
            self._pong_buffered = False
            self._send_pong(payload)

    def _answer_ping(self, payload: bytes) -> None:
        """At most one pong pending (RFC 6455 5.5.3 allows answering only the latest ping): a
        client that pings and never reads cannot make us queue pongs."""
        if self._pong_buffered and self.transport.get_write_buffer_size():
            self._pong_owed = payload  # the one still in the buffer answers for the rest
            return
        self._pong_owed = None
        self._send_pong(payload)

    def _send_pong(self, payload: bytes) -> None:
        self.write(self._ws.send(Pong(payload=payload)))
        self._pong_buffered = bool(self.transport.get_write_buffer_size())

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
        self.uncork()  # what the opening wrote goes before the close frame
        self.close_code = code
        self._parts = None
        self._listener.on_closing()

    # -- asyncio.Protocol --------------------------------------------------------------------

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self.flush_pong()
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
        if self._failed or self.transport.is_closing():
            return
        ws = self._ws
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                self.unanswered_pings = 0  # a sign of life: it sends what it means to
                if not self.closing and not self._on_data(event):
                    return
                continue
            if not self._control_allowed():
                self._fail(CloseCode.POLICY_VIOLATION, "too many control frames")
                return
            if isinstance(event, Ping):
                # Not a sign of life: a client that pings and never reads must still be dropped.
                if not self.closing:
                    self._answer_ping(bytes(event.payload))
            elif isinstance(event, CloseConnection):
                self._on_close(event)
                return
            elif isinstance(event, Pong):
                self.unanswered_pings = 0  # it read our ping: alive and reading
        self.flush_pong()

    def _control_allowed(self) -> bool:
        """Whether one more control frame fits this second's budget."""
        second = int(asyncio.get_running_loop().time())
        if second != self._control_second:
            self._control_second = second
            self._control_count = 0
        self._control_count += 1
        return self._control_count <= CONTROL_FRAMES_PER_SECOND

    def _on_data(self, event: TextMessage | BytesMessage) -> bool:
        """Collect a message's pieces; False when the connection failed on it."""
        data = event.data
        self._size += len(data.encode()) if isinstance(data, str) else len(data)
        if self._size > self._max_message:
            return self._fail(CloseCode.MESSAGE_TOO_BIG, "message too big")
        if not event.message_finished:
            self._fragments += 1
            if self._fragments >= MAX_FRAGMENTS:
                return self._fail(CloseCode.MESSAGE_TOO_BIG, "message in too many fragments")
            if data:
                if self._parts is None:
                    self._parts = []
                self._parts.append(data)
            return True
        parts, self._parts, self._size, self._fragments = self._parts, None, 0, 0
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
