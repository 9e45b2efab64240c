"""The /ws front door (web/live/front.py, listener.FrontDoor) against hostile and unusual
clients, over real sockets: it never opens a fan for a request aiohttp's route would refuse,
it enforces what the route enforces, and it leaks nothing when a client misbehaves.

Served as `scoreboard serve` serves (support.ServiceTestServer: every connection meets the
front door first).
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import os
import signal
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from redis_server import RedisServer, require_redis
from scaling.conftest import redis_settings
from scoreboard.listener import listen
from scoreboard.server import connection_guard
from scoreboard.settings import Settings
from scoreboard.web.app import create_app
from scoreboard.web.keys import CLIENT_CONNECTIONS_KEY, CONNECTIONS_KEY, FRONT_DOOR_KEY, HANDSHAKES_KEY
from support import AUTH, ServiceTestServer, assert_nothing_arrives, create_match, error_of, raw_exchange, receive_json

MakeClient = Callable[..., Awaitable[Any]]


@pytest.fixture
def front_client(aiohttp_client: Any, settings: Settings) -> MakeClient:
    """A client of the app served through the front door, with settings overridden."""

    async def make(**overrides: Any) -> Any:
        server = ServiceTestServer(create_app(replace(settings, **overrides)))
        return await aiohttp_client(server, connector=aiohttp.TCPConnector(force_close=True))

    return make


def upgrade(target: str = "/ws", extra: bytes = b"") -> bytes:
    """A browser's upgrade request, with `extra` raw header lines (each ending in CRLF)."""
    key = base64.b64encode(os.urandom(16))
    return (b"GET " + target.encode() + b" HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n"
            + extra + b"\r\n")


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One masked, final frame as a client sends it (RFC 6455 5.2)."""
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    return head + mask + masked


async def opened(port: int, request: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Send `request` in one write and read the 101 head."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return reader, writer


async def close_frame_code(reader: asyncio.StreamReader) -> int:
    """Read server frames until a close frame; its status code."""
    while True:
        first, second = await asyncio.wait_for(reader.readexactly(2), 3)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", await reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await reader.readexactly(8))[0]
        payload = await asyncio.wait_for(reader.readexactly(length), 3)
        if first & 0x0F == 0x8:
            return int(struct.unpack("!H", payload[:2])[0])


async def nothing_left_open(app: Any, address: str = "127.0.0.1") -> None:
    """Every place a fan takes is given back (the server notices a close on its own schedule)."""
    for _ in range(100):
        if (not len(app[CONNECTIONS_KEY]) and not app[HANDSHAKES_KEY].in_progress
                and not app[CLIENT_CONNECTIONS_KEY].count(address)):
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"left open: {len(app[CONNECTIONS_KEY])} fans, {app[HANDSHAKES_KEY].in_progress} openings, "
                f"{app[CLIENT_CONNECTIONS_KEY].count(address)} counted for {address}")


# -- requests aiohttp refuses -------------------------------------------------------------------

REFUSED_BY_AIOHTTP = {
    # Over aiohttp's parser limits (8190-byte lines and fields, 128 headers): the front door
    # used to open these, as httptools has no limits of its own.
    "a 9 KB header": upgrade(extra=b"X-Pad: " + b"a" * 9000 + b"\r\n"),
    "a 9 KB target": upgrade("/ws?pad=" + "a" * 9000),
    "200 headers": upgrade(extra=b"".join(b"X-%d: v\r\n" % i for i in range(200))),
    # aiohttp refuses a second User-Agent, Content-Type... (its singleton headers).
    "two User-Agents": upgrade(extra=b"User-Agent: a\r\nUser-Agent: b\r\n"),
    "two Content-Types": upgrade(extra=b"Content-Type: a/b\r\nContent-Type: c/d\r\n"),
    # Smuggling shapes: both parsers refuse them; a lenient front door would not.
    "obs-fold": upgrade(extra=b"Origin: http://a\r\n http://b\r\n"),
    "space before colon": upgrade(extra=b"Origin : http://a\r\n"),
    "NUL in a header": upgrade(extra=b"X-A: a\x00b\r\n"),
    "bare LF": upgrade(extra=b"X-A: b\n"),
}


@pytest.mark.parametrize("request_bytes", REFUSED_BY_AIOHTTP.values(), ids=REFUSED_BY_AIOHTTP.keys())
async def test_an_upgrade_aiohttp_refuses_is_refused_at_the_front_door_too(client: Any, request_bytes: bytes) -> None:
    """No fan is opened for a request the route would refuse: aiohttp answers it 400 in the
    service's error shape."""
    answer = await raw_exchange(client.server.port, request_bytes, timeout=3)
    assert answer.status == 400, answer
    assert error_of(answer)["code"] == "bad_request"
    assert client.app[FRONT_DOOR_KEY].opened == 0


# -- what the route enforces -----------------------------------------------------------------------


@pytest.mark.parametrize(("origin", "status"), [
    (b"https://scores.example", 101), (b"https://scores.example/", 101), (None, 101),
    (b"https://evil.example", 403), (b"HTTPS://SCORES.EXAMPLE", 403), (b"null", 403),
], ids=["allowed", "allowed with a slash", "none", "another", "upper case", "null"])
async def test_the_origin_allowlist_holds_at_the_front_door(front_client: MakeClient, origin: bytes | None,
                                                            status: int) -> None:
    """With allowed_origins set, another origin is refused 403 (the route's JSON) and only an
    allowed one (or none: not a browser) is opened, by the front door itself."""
    client = await front_client(allowed_origins=("https://scores.example",))
    extra = b"Origin: " + origin + b"\r\n" if origin is not None else b""
    answer = await raw_exchange(client.server.port, upgrade(extra=extra), timeout=3)
    assert answer.status == status
    if status == 403:
        assert error_of(answer)["code"] == "forbidden"
    assert client.app[FRONT_DOOR_KEY].opened == (status == 101)


async def test_the_per_address_cap_holds_at_the_front_door_and_ignores_untrusted_forwarding(
    front_client: MakeClient,
) -> None:
    """max_connections_per_client counts front-door fans; X-Forwarded-For, not trusted, does
    not make another client of the same address; closing gives the place back."""
    client = await front_client(max_connections_per_client=1)
    reader, writer = await opened(client.server.port, upgrade(extra=b"X-Forwarded-For: 10.0.0.1\r\n"))
    refused = await raw_exchange(client.server.port, upgrade(extra=b"X-Forwarded-For: 10.0.0.2\r\n"), timeout=3)
    assert refused.status == 429 and error_of(refused)["code"] == "too_many_connections"
    writer.close()
    await nothing_left_open(client.app)
    reader, writer = await opened(client.server.port, upgrade())
    writer.close()


async def test_a_trusted_router_s_own_forwarded_line_is_the_one_counted(front_client: MakeClient) -> None:
    """Behind a trusted router that adds its X-Forwarded-For line after the client's, a client
    sending a line of its own is still counted by the router's address (repeated lines are one
    list, RFC 9110 5.3): it cannot get past max_connections_per_client by inventing one."""
    client = await front_client(max_connections_per_client=1, trust_forwarded=True)
    reader, writer = await opened(client.server.port, upgrade(extra=b"X-Forwarded-For: 10.0.0.1\r\n"))
    spoofed = b"X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 10.0.0.1\r\n"
    refused = await raw_exchange(client.server.port, upgrade(extra=spoofed), timeout=3)
    assert refused.status == 429
    other = b"X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 10.0.0.2\r\n"
    reader2, writer2 = await opened(client.server.port, upgrade(extra=other))
    assert client.app[CLIENT_CONNECTIONS_KEY].count("10.0.0.2") == 1
    assert client.app[CLIENT_CONNECTIONS_KEY].count("6.6.6.6") == 0
    writer.close()
    writer2.close()


async def test_a_private_match_waits_for_auth_and_a_bad_token_is_refused_1008(client: Any) -> None:
    """?matches=<private> without a token: the front-door fan gets nothing until it sends its
    auth message; with a forged token it gets an error, then close 1008."""
    await create_match(client, "youth", private=True)
    response = await client.post("/api/matches/youth/tokens", json={"ttl": 600}, headers=AUTH)
    token = (await response.json())["token"]
    async with client.ws_connect("/ws?matches=youth") as ws:
        await assert_nothing_arrives(ws)
        await ws.send_json({"op": "auth", "token": token})
        assert (await receive_json(ws))["type"] == "authenticated"
        assert (await receive_json(ws))["type"] == "snapshot"
    async with client.ws_connect("/ws?matches=youth&token=forged.token.here") as ws:
        error = await receive_json(ws)
        assert error["type"] == "error"
        closing = await ws.receive(timeout=3)
        assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 1008
    assert client.app[FRONT_DOOR_KEY].opened == 2
    await nothing_left_open(client.app)


# -- what follows the upgrade in the first read -----------------------------------------------------


@pytest.mark.parametrize(("tail", "code"), [
    (client_frame(0x8, struct.pack("!H", 1000)), 1000),  # a close frame: echoed
    (b"GET /api/matches HTTP/1.1\r\nHost: test\r\n\r\n", 1002),  # not a frame (a smuggled request)
    (client_frame(0x1, b"x" * 70_000), 1009),  # over max_ws_message_bytes
], ids=["a close frame", "not a frame", "a message too big"])  # (frames are masked at random)
async def test_what_follows_the_upgrade_in_its_read_is_read_as_frames(
    front_client: MakeClient, tail: bytes, code: int,
) -> None:
    """Bytes behind the upgrade are the fan's first frames: a close is answered, anything not
    a frame fails the connection (1002; never read as HTTP), an oversized message is 1009;
    each after the 101, and the fan's places are all given back."""
    client = await front_client(max_ws_message_bytes=65_536, max_connections_per_client=5)
    reader, writer = await opened(client.server.port, upgrade() + tail)
    assert await close_frame_code(reader) == code
    assert client.app[FRONT_DOOR_KEY].opened == 1
    writer.close()
    await nothing_left_open(client.app)


@pytest.mark.parametrize("matches", ["", "?matches=m1", "?matches=youth"])
async def test_a_client_gone_right_after_its_upgrade_leaves_nothing_behind(front_client: MakeClient,
                                                                         matches: str) -> None:
    """A client that sends its upgrade and hangs up at once (mid-opening, or while a private
    match waits for its auth) leaves no fan, no opening and no per-address count behind."""
    client = await front_client(max_connections_per_client=5, max_handshakes=10)
    await create_match(client, "m1")
    await create_match(client, "youth", private=True)
    for _ in range(5):
        reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
        writer.write(upgrade("/ws" + matches))
        writer.close()
    await nothing_left_open(client.app)


# -- slowloris and the connection cap ---------------------------------------------------------------


async def test_an_upgrade_trickling_in_gets_408_at_the_header_deadline(front_client: MakeClient) -> None:
    """A /ws upgrade sent a few bytes at a time (the front door hands its first read to
    aiohttp) is still cut at header_timeout from when the connection opened, with a 408."""
    client = await front_client(header_timeout=0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    request = upgrade()
    answer = b""
    for start in range(0, len(request) - 4, 4):
        writer.write(request[start:start + 4])
        try:
            answer = await asyncio.wait_for(reader.read(4096), 0.1)
        except asyncio.TimeoutError:
            continue
        break
    else:
        pytest.fail("the trickling upgrade was never cut off")
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    writer.close()


async def test_silent_new_connections_count_toward_max_connections(settings: Settings) -> None:
    """Connections still at the front door (nothing sent yet) fill the connection cap like any
    other: the next one is refused 503 at once."""
    app = create_app(settings)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    assert runner.server is not None
    listener = await listen(connection_guard(app, runner.server, 2), "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await asyncio.sleep(0.05)  # accepted by the server
        refused = await raw_exchange(port, upgrade(), timeout=3)
        assert refused.status == 503 and error_of(refused)["code"] == "unavailable"
        for _, writer in silent:
            writer.close()
    finally:
        listener.close()
        await runner.cleanup()


async def test_a_fan_gone_before_its_unknown_match_is_read_logs_no_traceback(
    client: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """A client asking for a match that does not exist and hanging up at once (as a flood
    might, one id after another) leaves no "exception was never retrieved" traceback in the
    log: the store's failed read is nobody's error."""
    for number in range(5):
        reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
        writer.write(upgrade(f"/ws?matches=nosuch-{number}"))
        writer.close()
    await nothing_left_open(client.app)
    await asyncio.sleep(0.1)
    gc.collect()  # a task left with its exception warns when it is freed
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


@contextlib.asynccontextmanager
async def served_on_redis(
    tmp_path: Path, prefix: str, cap: int,
) -> AsyncIterator[tuple[RedisServer, aiohttp.web.Application, int]]:
    """The app on a redis-server of its own (per-address cap on: openings wait on Redis),
    listening as `scoreboard serve` does with at most `cap` connections open."""
    require_redis()
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    app = create_app(redis_settings(redis.url, prefix, max_connections_per_client=5))
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    assert runner.server is not None
    listener = await listen(connection_guard(app, runner.server, cap), "127.0.0.1", 0)
    try:
        yield redis, app, listener.sockets[0].getsockname()[1]
    finally:
        if redis.process is not None:
            redis.process.send_signal(signal.SIGCONT)
        listener.close()
        await runner.cleanup()
        redis.stop()


async def test_openings_waiting_on_redis_count_toward_max_connections(tmp_path: Path) -> None:
    """In Redis mode a front-door opening waits for Redis to count its address: meanwhile it
    is still an open connection, so the cap holds (the next one is 503), and each opens once
    Redis answers."""
    fans: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    async with served_on_redis(tmp_path, "pending:", cap=3) as (redis, _, port):
        assert redis.process is not None
        redis.process.send_signal(signal.SIGSTOP)  # every opening now waits on Redis
        for _ in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(upgrade())
            fans.append((reader, writer))
        await asyncio.sleep(0.05)
        refused = await raw_exchange(port, upgrade(), timeout=3)
        assert refused.status == 503 and error_of(refused)["code"] == "unavailable"
        redis.process.send_signal(signal.SIGCONT)
        for reader, _ in fans:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
            assert head.startswith(b"HTTP/1.1 101 "), head
        for _, writer in fans:
            writer.close()


async def test_a_fault_in_an_opening_that_waited_on_redis_gets_the_fan_opened_by_the_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug of ours in an opening that waited on Redis is handled as at once: logged, and the
    fan opened by aiohttp's route, instead of a socket left unread for good."""
    import scoreboard.web.live.front as front_module

    def broken() -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(front_module, "server_connection", broken)
    async with served_on_redis(tmp_path, "fault:", cap=100) as (_, app, port):
        reader, writer = await opened(port, upgrade())
        assert app[FRONT_DOOR_KEY].opened == 0
        writer.close()
