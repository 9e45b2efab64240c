"""A server's side of an open WebSocket (RFC 6455 framing), lean enough for 10,000s of fans.

After `handshake.take_over` the socket belongs to a `WebSocketConnection`: it parses what the
client sends (masked frames, fragments, ping, pong, close), hands whole text messages to its
listener, answers pings, and runs the closing handshake. It holds no task and no timer while
idle; keep-alive pings for every connection come from one `heartbeat.Heartbeat`.

Writes are whole frames in one `transport.write`, from the event loop's thread, so frames never
interleave: the fan-out writes its pre-built event frames straight to `transport` too.
"""
from __future__ import annotations

import asyncio
import struct
from typing import Protocol

from ..hub import WRITE_HIGH_WATER, websocket_text_frame

# Close codes (RFC 6455 section 7.4.1).
CLOSE_NORMAL = 1000
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_ABNORMAL = 1006  # never sent: the connection ended without a closing handshake
CLOSE_INVALID_DATA = 1007
CLOSE_MESSAGE_TOO_BIG = 1009

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_KNOWN_OPCODES = frozenset((OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG))
# Seconds to wait for the client's answer to our close frame before dropping the connection.
CLOSE_TIMEOUT = 5.0

PING_FRAME = bytes((0x80 | OP_PING, 0))


class Listener(Protocol):
    """What a connection tells its owner; called on the event loop, must not block."""

    def on_text(self, text: str) -> None: ...

    def on_binary(self) -> None: ...

    def on_closing(self) -> None:
        """A close frame was sent or received, or the socket is gone: write nothing more."""

    def on_closed(self, code: int) -> None: ...


def control_frame(opcode: int, payload: bytes = b"") -> bytes:
    return bytes((0x80 | opcode, len(payload))) + payload


def close_frame(code: int, reason: str = "") -> bytes:
    # A control frame's payload is at most 125 bytes: 2 for the code, the rest for the reason.
    reason_bytes = reason.encode()[:123]
    while True:  # do not cut a UTF-8 character in half
        try:
            reason_bytes.decode()
            break
        except UnicodeDecodeError:
            reason_bytes = reason_bytes[:-1]
    return control_frame(OP_CLOSE, struct.pack("!H", code) + reason_bytes)


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR `payload` with the repeating 4-byte `mask`, as one big-integer operation."""
    length = len(payload)
    if not length:
        return payload
    key = (mask * (length // 4 + 1))[:length]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(length, "big")


def _valid_close_code(code: int) -> bool:
    return code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014) or 3000 <= code <= 4999


class WebSocketConnection(asyncio.Protocol):
    """One open WebSocket. `transport` is public: the fan-out writes frames to it directly."""

    __slots__ = (
        "transport", "_listener", "_max_message", "_pending", "_fragments", "_fragment_opcode",
        "closing", "close_code", "_close_timer", "_paused", "_drain_waiter", "_closed_waiter",
        "closed", "unanswered_pings", "_failed",
    )

    def __init__(self, transport: asyncio.Transport, listener: Listener, max_message: int) -> None:
        self.transport = transport
        self._listener = listener
        self._max_message = max_message
        self._pending: bytes | None = None  # an incomplete frame's bytes, None while none
        self._fragments: list[bytes] | None = None  # a fragmented message being assembled
        self._fragment_opcode = OP_TEXT
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
        """Queue one text message; dropped once closing (nothing may follow a close frame)."""
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

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Start the closing handshake; the TCP connection ends when the client answers."""
        if self.closing or self.closed:
            return
        self._begin_closing(code)
        self._pending = self._fragments = None
        self.transport.write(close_frame(code, reason))
        self._close_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self.transport.abort)

    async def wait_closed(self) -> None:
        if self.closed:
            return
        if self._closed_waiter is None:
            self._closed_waiter = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._closed_waiter)

    # -- asyncio.Protocol --------------------------------------------------------------------

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_drain()

    def eof_received(self) -> bool:
        return False  # a client that half-closes is gone: close our side too

    def _begin_closing(self, code: int) -> None:
        self.closing = True
        self.close_code = code
        self._listener.on_closing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        if not self.closing:
            self._begin_closing(CLOSE_ABNORMAL)
        self.closed = True
        self._paused = False
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self._pending = self._fragments = None
        self._wake_drain()
        if self._closed_waiter is not None and not self._closed_waiter.done():
            self._closed_waiter.set_result(None)
        self._listener.on_closed(self.close_code if self.close_code is not None else CLOSE_ABNORMAL)

    def _wake_drain(self) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.unanswered_pings = 0
        if self._failed:
            return
        if self._pending:
            data = self._pending + data
            self._pending = None
        view = data
        position, end = 0, len(view)
        while end - position >= 2:
            first, second = view[position], view[position + 1]
            opcode, length, header = first & 0x0F, second & 0x7F, 2
            if length == 126:
                if end - position < 4:
                    break
                length = int.from_bytes(view[position + 2 : position + 4], "big")
                header = 4
            elif length == 127:
                if end - position < 10:
                    break
                length = int.from_bytes(view[position + 2 : position + 10], "big")
                header = 10
            if not self._frame_allowed(first, second, opcode, length):
                return
            start = position + header + 4
            if end - start < length:
                break
            payload = unmask(view[start : start + length], view[position + header : start])
            position = start + length
            self._on_frame(bool(first & 0x80), opcode, payload)
            if self._failed or self.transport.is_closing():
                return
        if position < end:
            self._pending = view[position:]

    # -- frames --------------------------------------------------------------------------------

    def _frame_allowed(self, first: int, second: int, opcode: int, length: int) -> bool:
        """Check a frame's header before its payload is buffered; fail the connection if bad."""
        if first & 0x70:
            return self._fail(CLOSE_PROTOCOL_ERROR, "no extension was agreed: RSV bits must be 0")
        if not second & 0x80:
            return self._fail(CLOSE_PROTOCOL_ERROR, "client frames must be masked")
        if opcode not in _KNOWN_OPCODES:
            return self._fail(CLOSE_PROTOCOL_ERROR, f"unknown opcode {opcode}")
        if opcode >= OP_CLOSE:
            if length > 125 or not first & 0x80:
                return self._fail(CLOSE_PROTOCOL_ERROR, "control frames must be whole and short")
            return True
        assembled = sum(len(part) for part in self._fragments) if self._fragments else 0
        if assembled + length > self._max_message:
            return self._fail(CLOSE_MESSAGE_TOO_BIG, "message too big")
        return True

    def _fail(self, code: int, reason: str) -> bool:
        """Fail the connection (RFC 6455 section 7.1.7): say why if we still may, then hang up."""
        self._failed = True
        self._pending = self._fragments = None
        if not self.closing:
            self._begin_closing(code)
            self.transport.write(close_frame(code, reason))
        self.transport.close()
        return False

    def _on_frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode == OP_CLOSE:
            self._on_close_frame(payload)
        elif opcode == OP_PING:
            if not self.closing:
                self.transport.write(control_frame(OP_PONG, payload))
        elif opcode == OP_PONG:
            pass  # any frame counts as a sign of life (data_received reset the ping count)
        elif self.closing:
            pass  # data after a close frame is discarded
        elif opcode == OP_CONTINUATION:
            if self._fragments is None:
                self._fail(CLOSE_PROTOCOL_ERROR, "continuation frame without a message to continue")
                return
            self._fragments.append(payload)
            if fin:
                parts, self._fragments = self._fragments, None
                self._on_message(self._fragment_opcode, b"".join(parts))
        elif self._fragments is not None:
            self._fail(CLOSE_PROTOCOL_ERROR, "a new message began before the last one ended")
        elif fin:
            self._on_message(opcode, payload)
        else:
            self._fragments, self._fragment_opcode = [payload], opcode

    def _on_message(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_BINARY:
            self._listener.on_binary()
            return
        try:
            text = payload.decode()
        except UnicodeDecodeError:
            self._fail(CLOSE_INVALID_DATA, "text messages must be UTF-8")
            return
        self._listener.on_text(text)

    def _on_close_frame(self, payload: bytes) -> None:
        if self.closing:
            # The answer to our close frame: the handshake is done, end the TCP connection.
            self.transport.close()
            return
        code = CLOSE_NORMAL
        if len(payload) >= 2:
            code = int.from_bytes(payload[:2], "big")
            if not _valid_close_code(code):
                self._fail(CLOSE_PROTOCOL_ERROR, f"invalid close code {code}")
                return
        elif payload:
            self._fail(CLOSE_PROTOCOL_ERROR, "a close frame's payload is a 2-byte code and a reason")
            return
        # The client closes: echo its code, then end the TCP connection (the server's part).
        self._begin_closing(code)
        self.transport.write(close_frame(code))
        self.transport.close()
