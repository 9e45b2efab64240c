"""Our own RFC 6455 framing after the handshake (web/live/websocket.py), over real sockets.

Most tests speak raw frames from a plain TCP client, so they can send what a library client
never would: fragments, unmasked or oversized frames, bad UTF-8, odd close codes, silence.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import struct
from dataclasses import replace
from typing import Any

import aiohttp

from scoreboard.web.app import create_app
from scoreboard.web.keys import HEARTBEAT_KEY
from support import create_match, post_events, receive_json

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class RawClient:
    """A WebSocket client that writes exactly the frames it is told to."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, client: Any, path: str = "/ws") -> RawClient:
        reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
        key = base64.b64encode(os.urandom(16))
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
            f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        assert head.startswith(b"HTTP/1.1 101 "), head
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        assert b"Sec-WebSocket-Accept: " + accept in head
        assert b"permessage-deflate" not in head  # compression is always declined
        return cls(reader, writer)

    def send(self, opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> None:
        header = bytes([(0x80 if fin else 0) | opcode])
        length = len(payload)
        mask_bit = 0x80 if masked else 0
        if length < 126:
            header += bytes([mask_bit | length])
        elif length < 65536:
            header += bytes([mask_bit | 126]) + struct.pack("!H", length)
        else:
            header += bytes([mask_bit | 127]) + struct.pack("!Q", length)
        if masked:
            mask = os.urandom(4)
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            header += mask
        self.writer.write(header + payload)

    def send_json(self, message: Any) -> None:
        self.send(TEXT, json.dumps(message).encode())

    async def frame(self, timeout: float = 3.0) -> tuple[int, bytes]:
        first, second = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        assert second & 0x80 == 0, "server frames are never masked"
        assert first & 0x70 == 0, "no extension: RSV bits clear"
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return first & 0x0F, await self.reader.readexactly(length)

    async def json(self) -> dict[str, Any]:
        opcode, payload = await self.frame()
        assert opcode == TEXT, (opcode, payload)
        return json.loads(payload)

    async def close_code(self) -> int:
        """Skip data frames up to the server's close frame; return its code."""
        while True:
            opcode, payload = await self.frame()
            if opcode == CLOSE:
                return int(struct.unpack("!H", payload[:2])[0])

    async def hung_up(self, timeout: float = 3.0) -> bool:
        """Whether the server closed the TCP connection (EOF) within `timeout`."""
        try:
            while await asyncio.wait_for(self.reader.read(65536), timeout):
                pass
        except (asyncio.TimeoutError, ConnectionResetError):
            return False
        finally:
            self.writer.close()
        return True

    def close(self) -> None:
        self.writer.close()


async def test_fragmented_messages_are_joined_and_pings_answered(client: Any) -> None:
    """A subscribe split over three frames works; a ping gets a pong with the same payload."""
    await create_match(client, "m1")
    ws = await RawClient.connect(client)
    message = json.dumps({"op": "subscribe", "matches": ["m1"]}).encode()
    ws.send(TEXT, message[:5], fin=False)
    ws.send(PING, b"are you there")  # control frames may come between fragments
    ws.send(0x0, message[5:12], fin=False)
    ws.send(0x0, message[12:])
    assert await ws.frame() == (PONG, b"are you there")
    assert (await ws.json())["type"] == "snapshot"
    assert (await ws.json())["type"] == "subscribed"
    body = await post_events(client, "m1", {"type": "period_start"})
    assert (await ws.json())["seq"] == body["seq"]
    ws.close()


async def test_a_message_split_across_tcp_writes_still_arrives(client: Any) -> None:
    """Frame boundaries need not match reads: a frame written a byte at a time is understood."""
    ws = await RawClient.connect(client)
    sent: list[bytes] = []
    real_write = ws.writer.write
    ws.writer.write = sent.append  # type: ignore[method-assign]
    ws.send_json({"op": "ping"})
    ws.writer.write = real_write  # type: ignore[method-assign]
    for byte in sent[0]:
        ws.writer.write(bytes([byte]))
        await ws.writer.drain()
        await asyncio.sleep(0.001)
    assert await ws.json() == {"type": "pong"}
    ws.close()


async def test_a_first_message_sent_with_the_upgrade_request_is_answered(client: Any) -> None:
    """The upgrade request and a subscribe frame in one write: the bytes aiohttp read past the
    request reach our protocol, and the fan gets its snapshot and `subscribed`."""
    await create_match(client, "m1")
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    key = base64.b64encode(os.urandom(16))
    request = (
        f"GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    ws = RawClient(reader, writer)
    sent: list[bytes] = []
    writer.write = sent.append  # type: ignore[method-assign]  # catch the frame's bytes
    ws.send_json({"op": "subscribe", "matches": ["m1"]})
    ws.send_json({"op": "ping"})
    del writer.write  # the real one again
    writer.write(request + b"".join(sent))  # one write: request and two frames
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
    assert head.startswith(b"HTTP/1.1 101 ")
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    assert b"Sec-WebSocket-Accept: " + accept in head
    assert (await ws.json())["type"] == "snapshot"
    assert (await ws.json())["type"] == "subscribed"
    assert await ws.json() == {"type": "pong"}
    ws.close()


async def test_client_close_is_echoed_and_the_server_hangs_up(client: Any) -> None:
    ws = await RawClient.connect(client)
    ws.send(CLOSE, struct.pack("!H", 4000) + b"bye")
    assert await ws.close_code() == 4000
    assert await ws.hung_up()


async def test_protocol_violations_close_that_connection_only(client: Any) -> None:
    """Unmasked frames and bad close codes get 1002, bad UTF-8 1007; others are unaffected."""
    await create_match(client, "m1")
    async with client.ws_connect("/ws?matches=m1") as bystander:
        assert (await receive_json(bystander))["type"] == "snapshot"
        assert (await receive_json(bystander))["type"] == "subscribed"
        for violation, code in (
            (lambda ws: ws.send(TEXT, b'{"op": "ping"}', masked=False), 1002),
            (lambda ws: ws.send(TEXT, b"\xff\xfe not utf-8"), 1007),
            (lambda ws: ws.send(CLOSE, struct.pack("!H", 1005)), 1002),
            (lambda ws: ws.send(0x0, b"continuing nothing"), 1002),
            (lambda ws: ws.send(0x3, b"reserved opcode"), 1002),
        ):
            ws = await RawClient.connect(client)
            violation(ws)
            assert await ws.close_code() == code
            assert await ws.hung_up()
        body = await post_events(client, "m1", {"type": "period_start"})
        assert (await receive_json(bystander))["seq"] == body["seq"]


async def test_an_oversized_frame_is_refused_as_soon_as_it_passes_the_limit(client: Any, settings: Any) -> None:
    """A frame announcing 1 GB is cut off with 1009 once past the limit, not buffered whole."""
    ws = await RawClient.connect(client)
    mask = bytes(4)  # a zero mask: the payload below goes through as the ASCII text it is
    ws.writer.write(bytes([0x81, 0x80 | 127]) + struct.pack("!Q", 1 << 30) + mask)
    ws.writer.write(b"x" * (settings.max_ws_message_bytes + 1))
    assert await ws.close_code() == 1009
    assert await ws.hung_up()


async def test_fragments_adding_up_past_the_limit_are_refused(client: Any, settings: Any) -> None:
    ws = await RawClient.connect(client)
    half = settings.max_ws_message_bytes // 2 + 1
    ws.send(TEXT, b"x" * half, fin=False)
    ws.send(0x0, b"x" * half)
    assert await ws.close_code() == 1009
    ws.close()


async def test_binary_messages_get_an_error_and_the_connection_stays(client: Any) -> None:
    ws = await RawClient.connect(client)
    ws.send(BINARY, b"\x00\x01")
    assert (await ws.json())["code"] == "bad_message"
    ws.send_json({"op": "ping"})
    assert await ws.json() == {"type": "pong"}
    ws.close()


async def test_heartbeat_drops_a_silent_client_and_keeps_one_that_answers(
    aiohttp_client: Any, settings: Any,
) -> None:
    """A client that never answers pings is dropped after two intervals; aiohttp's client
    (which answers pings, as browsers do) stays connected and keeps getting events."""
    app = create_app(replace(settings, ws_ping_interval=0.2))
    client = await aiohttp_client(app)
    await create_match(client, "m1")
    silent = await RawClient.connect(client, "/ws?matches=m1")
    async with client.ws_connect("/ws?matches=m1") as answering:
        # aiohttp's client answers pings inside receive(): keep it receiving, as a browser would.
        received: asyncio.Queue[Any] = asyncio.Queue()

        async def keep_receiving() -> None:
            while not answering.closed:
                await received.put(await answering.receive())

        receiving = asyncio.ensure_future(keep_receiving())
        assert json.loads((await asyncio.wait_for(received.get(), 3)).data)["type"] == "snapshot"
        assert json.loads((await asyncio.wait_for(received.get(), 3)).data)["type"] == "subscribed"
        saw_ping = False
        while True:  # the silent client reads, but never answers
            try:
                opcode, _ = await silent.frame(timeout=2)
            except asyncio.IncompleteReadError:
                break  # hung up on
            saw_ping = saw_ping or opcode == PING
        assert saw_ping and app[HEARTBEAT_KEY].dropped == 1
        await asyncio.sleep(0.5)  # two more sweeps
        body = await post_events(client, "m1", {"type": "period_start"})
        message = await asyncio.wait_for(received.get(), 3)
        assert json.loads(message.data)["seq"] == body["seq"]
        assert app[HEARTBEAT_KEY].dropped == 1
        receiving.cancel()
    silent.close()


async def test_a_request_that_is_not_an_upgrade_gets_a_json_400(client: Any) -> None:
    for headers in ({}, {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                         "Sec-WebSocket-Key": "not base64 of 16 bytes"},
                    {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "99",
                     "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}):
        response = await client.get("/ws", headers=headers)
        assert response.status == 400, headers
        body = await response.json()
        assert body["error"]["code"] and body["error"]["message"]


async def test_shutdown_closes_open_websockets_with_a_reason(aiohttp_client: Any, settings: Any) -> None:
    """At shutdown every fan gets a close frame (1001 going away) before the socket ends."""
    client = await aiohttp_client(create_app(settings))
    await create_match(client, "m1")
    ws = await client.ws_connect("/ws?matches=m1")
    assert (await receive_json(ws))["type"] == "snapshot"
    assert (await receive_json(ws))["type"] == "subscribed"
    closing = asyncio.ensure_future(client.server.close())
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1001
    await ws.close()
    await asyncio.wait_for(closing, 15)


async def test_closed_fans_leave_nothing_behind(aiohttp_client: Any, settings: Any) -> None:
    """Fans that close cleanly, vanish (TCP reset) or are refused hold no subscription, slot,
    heartbeat entry or server connection afterwards, and later fans are served as before."""
    from scoreboard.web.keys import CONNECTIONS_KEY, HUB_KEY

    app = create_app(replace(settings, max_connections_per_client=20))
    client = await aiohttp_client(app)
    await create_match(client, "m1")
    await post_events(client, "m1", {"type": "period_start"})  # so fans join the direct lane
    http_connections = len(client.server.runner.server.connections)  # the test client's keep-alive
    for _ in range(3):  # three rounds of 15: past the per-client limit if slots leaked
        fans = [await client.ws_connect("/ws?matches=m1") for _ in range(10)]
        raws = [await RawClient.connect(client, "/ws?matches=m1") for _ in range(5)]
        for fan in fans:
            assert (await receive_json(fan))["type"] == "snapshot"
            assert (await receive_json(fan))["type"] == "subscribed"
        assert app[HUB_KEY].subscriber_count("m1") == 15
        await post_events(client, "m1", {"type": "notification", "title": "t"})
        for fan in fans[:5]:
            await fan.close()
        for fan in fans[5:]:
            fan._response.connection.transport.abort()  # gone without a close frame
        for raw in raws:
            raw.writer.transport.abort()
            raw.close()
        for _ in range(100):
            if not app[HUB_KEY].subscriber_count() and not len(app[CONNECTIONS_KEY]):
                break
            await asyncio.sleep(0.02)
        assert app[HUB_KEY].subscriber_count() == 0
        assert len(app[CONNECTIONS_KEY]) == 0
        assert not app[HEARTBEAT_KEY]._connections
        # aiohttp let go of every WebSocket at its take-over; only plain HTTP ones remain.
        assert len(client.server.runner.server.connections) <= http_connections
    async with client.ws_connect("/ws?matches=m1") as fan:
        assert (await receive_json(fan))["type"] == "snapshot"
        assert (await receive_json(fan))["type"] == "subscribed"
        body = await post_events(client, "m1", {"type": "notification", "title": "after"})
        assert (await receive_json(fan))["seq"] == body["seq"]


def test_prebuilt_frames_are_the_bytes_wsproto_would_send() -> None:
    """The fan-out's own framing (7-, 16- and 64-bit lengths, UTF-8) matches the library's."""
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import Message

    from scoreboard.web.live.framing import websocket_text_frame

    server = Connection(ConnectionType.SERVER)
    for text in ("", "x", "é" * 62, "é" * 63, "y" * 65535, "z" * 65536):
        assert websocket_text_frame(text.encode()) == server.send(Message(data=text)), len(text)


class _Ignore:
    """A websocket.Listener that wants nothing."""

    def on_text(self, text: str) -> None: ...

    def on_binary(self) -> None: ...

    def on_closing(self) -> None: ...

    def on_closed(self, code: int) -> None: ...


async def test_pings_while_our_bytes_wait_unread_leave_one_pong_that_answers_the_last() -> None:
    """A client that pings while it leaves what we sent unread gets no pong queued per ping:
    at most one waits, and once it reads, the pong it gets answers its latest ping."""
    import socket

    from scoreboard.web.live.framing import websocket_text_frame
    from scoreboard.web.live.websocket import WebSocketConnection

    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    connection = WebSocketConnection(transport, _Ignore(), 16384)  # type: ignore[arg-type]
    transport.set_protocol(connection)
    big = websocket_text_frame(b"x" * (1 << 20))  # more than the kernel buffers take, under OUTGOING_LIMIT
    transport.write(big)
    waiting = transport.get_write_buffer_size()
    assert waiting > 0
    mask = b"\x00\x00\x00\x00"
    pings = [bytes([i]) * 125 for i in range(40)]  # under the control-frame budget
    theirs.sendall(b"".join(b"\x89\xfd" + mask + payload for payload in pings))
    for _ in range(50):
        await asyncio.sleep(0.01)
    assert transport.get_write_buffer_size() - waiting <= 127, "more than one pong queued"
    theirs.setblocking(False)
    received = bytearray()
    for _ in range(2000):  # read everything: the big frame, then the pong(s)
        try:
            received += theirs.recv(1 << 20)
        except BlockingIOError:
            await asyncio.sleep(0.005)
        if len(received) >= len(big) and received[len(big):].count(b"\x8a\x7d") >= 1 and \
                bytes(received[-125:]) == pings[-1]:
            break
    tail = bytes(received[len(big):])
    pongs = [tail[i + 2:i + 127] for i in range(0, len(tail), 127)]
    assert all(tail[i:i + 2] == b"\x8a\x7d" for i in range(0, len(tail), 127)), tail[:8]
    assert 1 <= len(pongs) <= 2 and pongs[-1] == pings[-1]
    transport.abort()
    theirs.close()
