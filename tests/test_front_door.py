"""The live edge's front door (web/live/front.py, listener.FrontDoor): a /ws upgrade opened from
a connection's first read, and everything else handed to aiohttp with nothing lost.

Served as `scoreboard serve` serves (the `client` fixture), over real sockets.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from typing import Any

import h11
import pytest
from wsproto.connection import ConnectionType
from wsproto.events import AcceptConnection
from wsproto.handshake import H11Handshake
from wsproto.utilities import RemoteProtocolError

from scoreboard.web.keys import FRONT_DOOR_KEY
from scoreboard.web.live.front import read_upgrade
from scoreboard.web.live.handshake import NotAnUpgrade, answer, check_upgrade
from support import create_match, post_events
from test_websocket_protocol import RawClient

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def upgrade_request(path: str = "/ws?matches=m1", extra: str = "") -> tuple[bytes, bytes]:
    key = base64.b64encode(os.urandom(16))
    request = (
        f"GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode()
    return request, key


async def read_opening(reader: asyncio.StreamReader, key: bytes) -> RawClient:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
    assert head.startswith(b"HTTP/1.1 101 "), head
    assert b"Sec-WebSocket-Accept: " + base64.b64encode(hashlib.sha1(key + GUID).digest()) in head
    return RawClient(reader, None)  # type: ignore[arg-type]


async def test_a_fan_opened_at_the_front_door_gets_its_snapshot_then_live_events(client: Any) -> None:
    """The usual case, as a browser sends it: one read holds the whole upgrade. The fan gets
    the 101, the snapshot at the latest seq, `subscribed`, and then each new event."""
    await create_match(client, "m1")
    first = await post_events(client, "m1", {"type": "period_start"})
    front = client.app[FRONT_DOOR_KEY]
    opened_before = front.opened
    request, key = upgrade_request(extra="Origin: http://test\r\nUser-Agent: Mozilla/5.0\r\n")
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(request)
    ws = await read_opening(reader, key)
    snapshot = await ws.json()
    assert snapshot["type"] == "snapshot" and snapshot["match"]["seq"] == first["seq"]
    assert (await ws.json())["type"] == "subscribed"
    assert front.opened == opened_before + 1  # it was the front door that opened it
    later = await post_events(client, "m1", {"type": "goal", "team": "home", "player": "Messi"})
    event = await ws.json()
    assert event["seq"] == later["seq"] and event["event"]["player"] == "Messi"
    writer.close()


@pytest.mark.parametrize("way", ["in two reads", "after a request on the same connection", "with %-escapes"])
async def test_upgrades_the_front_door_leaves_to_aiohttp_open_all_the_same(client: Any, way: str) -> None:
    """What the front door does not read itself (a request in pieces, on a keep-alive
    connection, or needing decoding) reaches aiohttp's route with every byte, and opens the
    same way: 101, snapshot, subscribed, live events."""
    await create_match(client, "m1")
    front = client.app[FRONT_DOOR_KEY]
    opened_before = front.opened
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    request, key = upgrade_request("/ws?matches=m%31" if way == "with %-escapes" else "/ws?matches=m1")
    if way == "in two reads":
        writer.write(request[:20])
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(request[20:])
    elif way == "after a request on the same connection":
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        assert head.startswith(b"HTTP/1.1 200 ")
        length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
                     .split(b":")[1])
        await reader.readexactly(length)
        writer.write(request)
    else:
        writer.write(request)
    ws = await read_opening(reader, key)
    assert (await ws.json())["type"] == "snapshot"
    assert (await ws.json())["type"] == "subscribed"
    posted = await post_events(client, "m1", {"type": "period_start"})
    assert (await ws.json())["seq"] == posted["seq"]
    assert front.opened == opened_before  # aiohttp's route opened it
    writer.close()


async def test_an_upgrade_a_check_refuses_gets_the_routes_json_answer(client: Any) -> None:
    """A refused upgrade costs nothing at the front door and is answered by the route, in the
    service's error shape, with the connection's bytes intact."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(upgrade_request("/ws?matches=NOT%20AN%20ID")[0].replace(b"?matches=NOT%20AN%20ID", b"?matches=Bad_Id"))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
    assert head.startswith(b"HTTP/1.1 4"), head
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1])
    body = json.loads(await reader.readexactly(length))
    assert body["error"]["code"] == "validation_failed" and "matches" in body["error"]["fields"]
    writer.close()


HEADER_SETS: list[dict[str, str]] = [
    {},
    {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"},
    {"Upgrade": "websocket", "Connection": "keep-alive, Upgrade", "Sec-WebSocket-Version": "13", "KEY": ""},
    {"Upgrade": "WebSocket", "Connection": "upgrade", "Sec-WebSocket-Version": "13", "KEY": ""},
    {"Upgrade": "websocket", "Connection": "keep-alive", "Sec-WebSocket-Version": "13", "KEY": ""},
    {"Upgrade": "h2c", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "KEY": ""},
    {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "8", "KEY": ""},
    {"Upgrade": "websocket", "Connection": "Upgrade", "KEY": ""},
    {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "KEY": "", "no host": ""},
]


@pytest.mark.parametrize("headers", HEADER_SETS, ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items()) or "none")
def test_the_handshake_accepts_what_wsprotos_accepts_and_answers_the_same_bytes(headers: dict[str, str]) -> None:
    """handshake.check_upgrade against wsproto's own H11Handshake, header set by header set:
    the same verdict, and for an accepted request the same 101 bytes."""
    key = base64.b64encode(os.urandom(16)).decode()
    named = {name: (key if name == "KEY" else value) for name, value in headers.items() if name != "no host"}
    named = {("Sec-WebSocket-Key" if name == "KEY" else name): value for name, value in named.items()}
    if "no host" not in headers:
        named["Host"] = "test"
    raw = [(name.encode(), value.encode()) for name, value in named.items()]
    wsproto = H11Handshake(ConnectionType.SERVER)
    try:
        wsproto.initiate_upgrade_connection(raw, b"/ws")
        theirs: bytes | None = wsproto.send(AcceptConnection())
    except (RemoteProtocolError, h11.LocalProtocolError):  # h11 refuses a request without Host itself
        theirs = None
    lower = {name.lower(): value for name, value in named.items()}
    try:
        ours: bytes | None = answer(check_upgrade("GET", lower.get))
    except NotAnUpgrade:
        ours = None
    assert ours == theirs


@pytest.mark.parametrize("request_bytes", [
    b"GET /ws?matches=a HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    b"GET /ws?matches=a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 3\r\n\r\nabc",
    b"GET /ws?matches=a HTTP/1.1\r\nHost: x\r\nHost: y\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    b"GET /ws?matches=a+b HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    b"GET /wsx?matches=a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    b"GET /ws?matches=a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
    b"GET /ws?matches=a HTTP/1.1\r\nHost: x\r\nX-Name: caf\xc3\xa9\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n",
], ids=["http/1.0", "a body", "two hosts", "plus in query", "another path", "head not complete", "not ascii",
        "not an upgrade"])
def test_the_front_door_leaves_anything_unusual_to_aiohttp(request_bytes: bytes) -> None:
    """Only plain requests are read at the front door: anything the route might read
    differently goes to aiohttp, which answers it as it always has."""
    assert read_upgrade(request_bytes) is None


def test_the_front_door_reads_a_plain_upgrade_and_keeps_what_follows_it() -> None:
    request = (b"GET /ws?matches=a,b&since=a:3&token=t.x-y HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = read_upgrade(request + b"\x81\x85frame")
    assert head is not None
    assert head.query == {"matches": "a,b", "since": "a:3", "token": "t.x-y"}
    assert head.headers["sec-websocket-key"] == "k" and head.tail == b"\x81\x85frame"


async def test_a_fault_at_the_front_door_still_gets_the_fan_opened_by_the_route(
    client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug of ours while opening at the front door is logged, and the fan is opened by
    aiohttp's route instead of being cut off; its opening's places are given back."""
    import scoreboard.web.live.front as front_module
    from scoreboard.web.keys import HANDSHAKES_KEY

    def broken() -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(front_module, "server_connection", broken)
    await create_match(client, "m1")
    ws = await client.ws_connect("/ws?matches=m1")
    message = await ws.receive_json(timeout=3)
    assert message["type"] == "snapshot"
    assert any("the /ws front door failed" in record.getMessage() for record in caplog.records)
    assert client.app[FRONT_DOOR_KEY].opened == 0
    await ws.close()
    await asyncio.sleep(0.05)
    assert client.app[HANDSHAKES_KEY].in_progress == 0
