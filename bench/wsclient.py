"""The load generator's WebSocket client: a bare asyncio protocol, no library.

Why not aiohttp's client: every message then costs a future, a task wake-up and a
Python-level frame object, and on one core it could not keep up with a server near the
one-send-per-delivery floor, so the load generator, not the server, would set the figures.
`WsClient` parses server frames (never masked, rarely fragmented) straight from the bytes
received, inflates them when permessage-deflate was agreed, answers pings and close frames,
and hands each whole message to its subclass. Subclasses: `loadgen.Subscriber` (counts and
times deliveries) and `storm.FanConnection` (one connection of a fan that reconnects).
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import socket
import time
import zlib
from typing import Any

perf = time.perf_counter
# An event message is recognised and its seq read without a full JSON parse: at 10,000
# subscribers the parse is a third of the load generator's cost per delivery. Both servers
# write "type" first; the first "seq" after it is either the top-level one or the event's
# own: the same number. Only the head is read, so a large snapshot costs no more than a
# small one (a scan of the whole message for "type" once cost ~4 ms per 12 KB snapshot).
MESSAGE_TYPE = re.compile(rb'\{\s*"type"\s*:\s*"([a-z_]+)"')
FIRST_SEQ = re.compile(rb'"seq"\s*:\s*(\d+)')
# Linux: pick the source port at connect() time, by the whole 4-tuple, not at bind() time (where
# each source address would get a port of its own for every destination). Not in Python's
# socket module before 3.12 on every platform; the number is Linux's.
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def message_type(payload: bytes) -> str | None:
    """The message's "type" when it comes first (both servers write it first), else None."""
    kind = MESSAGE_TYPE.match(payload)
    return None if kind is None else kind.group(1).decode()


def event_seq(payload: bytes) -> int | None:
    """The seq of an `event` message, or None for any other message."""
    kind = MESSAGE_TYPE.match(payload)
    if kind is None:  # "type" is not first: read the whole message
        message = json.loads(payload)
        return int(message["seq"]) if isinstance(message, dict) and message.get("type") == "event" else None
    if kind.group(1) != b"event":
        return None
    seq = FIRST_SEQ.search(payload, kind.end())
    return None if seq is None else int(seq.group(1))


def ws_request(host: str, port: int, path: str, offer_deflate: bool = False) -> bytes:
    """The opening handshake a browser would send (Origin included; deflate offered or not)."""
    key = base64.b64encode(os.urandom(16)).decode()
    extension = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if offer_deflate else ""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n"
        f"{extension}\r\n"
    ).encode()


def source_addresses(n: int, per_address: int = 20000) -> list[str | None]:
    """Loopback source addresses enough for `n` connections to one server port.

    One source address has ~28,000 ephemeral ports to one destination (ip_local_port_range);
    past `per_address` connections they are spread over 127.0.0.1, .2, ... (all of 127/8 is
    local on Linux). None: let connect() choose, as before (127.0.0.1).
    """
    if n <= per_address:
        return [None]
    return [f"127.0.0.{i + 1}" for i in range(-(-n // per_address))]


async def open_connection(
    protocol: asyncio.Protocol, host: str, port: int, source: str | None = None,
) -> asyncio.Transport:
    """Connect `protocol` to host:port, from the loopback address `source` when given."""
    loop = asyncio.get_running_loop()
    if source is None:
        transport, _ = await loop.create_connection(lambda: protocol, host, port)
        return transport
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source, 0))
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
    except BaseException:
        sock.close()
        raise
    transport, _ = await loop.create_connection(lambda: protocol, sock=sock)
    return transport


class WsClient(asyncio.Protocol):
    """One client WebSocket; subclasses implement the `on_*` hooks (called on the loop)."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.handshaking = True
        self.buf = b""
        self.inflater: Any = None
        self.reset_inflater = False
        self.deflate = False
        self.fragments: list[bytes] = []
        self.fragment_compressed = False
        self.close_code: int | None = None
        self.lost = False

    # -- hooks -------------------------------------------------------------------------------

    def on_open(self) -> None:
        """The server answered 101."""

    def on_refused(self, status_line: str) -> None:
        """The server answered the upgrade with something else; the connection is closing."""

    def on_message(self, payload: bytes, now: float) -> None:
        """One whole text or binary message (inflated), received at perf() `now`."""

    def on_close_frame(self, code: int) -> None:
        """The server sent a close frame (answered already); the connection is closing."""

    def on_lost(self, exc: Exception | None) -> None:
        """The TCP connection is gone."""

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.on_lost(exc)

    def data_received(self, data: bytes) -> None:
        now = perf()
        buf = self.buf + data if self.buf else data
        if self.handshaking:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            self._handshake(buf[:end].decode("latin-1"))
            if self.handshaking:
                self.buf = b""
                return
            buf = buf[end + 4 :]
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, length = buf[pos], buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = (buf[pos + 2] << 8) | buf[pos + 3], 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            end = pos + head + length
            if end > size:
                break
            self._frame(b0, buf[pos + head : end], now)
            pos = end
        self.buf = buf[pos:] if pos < size else b""

    def _handshake(self, head: str) -> None:
        lines = head.split("\r\n")
        if " 101 " not in lines[0] + " ":
            self.close_code = -1
            assert self.transport is not None
            self.transport.close()
            self.on_refused(lines[0])
            return
        self.handshaking = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-extensions" and "permessage-deflate" in value:
                self.deflate = True
                # A decoder with the largest window reads any smaller window the server picked.
                self.reset_inflater = "server_no_context_takeover" in value
                self.inflater = zlib.decompressobj(-15)
        self.on_open()

    def _frame(self, b0: int, payload: bytes, now: float) -> None:
        opcode = b0 & 0x0F
        if opcode in (1, 2):
            if b0 & 0x80:
                self._message(payload, bool(b0 & 0x40), now)
            else:
                self.fragments, self.fragment_compressed = [payload], bool(b0 & 0x40)
        elif opcode == 0:
            self.fragments.append(payload)
            if b0 & 0x80:
                self._message(b"".join(self.fragments), self.fragment_compressed, now)
                self.fragments = []
        elif opcode == 9:
            self.send(0xA, payload)
        elif opcode == 8:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.send(0x8, payload[:2])
            assert self.transport is not None
            self.transport.close()
            self.on_close_frame(self.close_code)

    def _message(self, payload: bytes, compressed: bool, now: float) -> None:
        if compressed:
            payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
            if self.reset_inflater:
                self.inflater = zlib.decompressobj(-15)
        self.on_message(payload, now)

    def send(self, opcode: int, payload: bytes) -> None:
        """A client frame must be masked (RFC 6455 5.3)."""
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)
