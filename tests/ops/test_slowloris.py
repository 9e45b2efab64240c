"""Slowloris and connection floods against the real process (issue 10, item 5): headers that
trickle in are cut off after `header_timeout`, idle keep-alive connections after
`keepalive_timeout`, and past `max_connections` (by default sized from the open-file limit) a
new client gets a 503 at once instead of waiting for a descriptor that never frees up."""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from support import ServerProcess, error_of, free_port, raw_exchange, raw_request

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]  # waits out real timeouts


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    served = ServerProcess(port=free_port(), db=tmp_path / "slow.db")
    yield served
    if served.process is not None and served.process.poll() is None:
        served.stop()


class Trickler:
    """A slowloris client: the start of a request, then one header byte at a time, for ever."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.closed_at: float | None = None
        self.answer = b""

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(b"GET /api/matches HTTP/1.1\r\nHost: x\r\nX-Slow: ")

    async def trickle(self, until: float) -> None:
        """One byte every 0.2 s until `until` or until the server hangs up."""
        assert self.reader is not None and self.writer is not None
        while time.monotonic() < until:
            try:
                self.writer.write(b"a")
                await self.writer.drain()
                chunk = await asyncio.wait_for(self.reader.read(4096), 0.2)
            except asyncio.TimeoutError:
                continue
            except (ConnectionError, OSError):
                chunk = b""
            if not chunk:
                self.closed_at = time.monotonic()
                return
            self.answer += chunk

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def healthz_answer(port: int, timeout: float) -> int:
    """The status a new client gets for GET /healthz, or 0 when nothing comes within `timeout`."""
    try:
        answer = await raw_exchange(port, raw_request("GET", "/healthz"), timeout=timeout)
    except (asyncio.TimeoutError, ConnectionError, OSError, asyncio.IncompleteReadError):
        return 0
    return answer.status


async def test_slowloris_past_the_open_file_limit_locks_nobody_out(server: ServerProcess) -> None:
    """With `ulimit -n 256`, 300 connections trickling header bytes: every one is closed within
    the header timeout, new clients get an answer at once throughout (a 503 while the slots
    are held), and 200 once the attackers are cut off, while they are still trickling."""
    server.start("--header-timeout", "1", open_files=256)
    attackers = [Trickler(server.port) for _ in range(300)]
    try:
        for attacker in attackers:
            await attacker.open()
        started = time.monotonic()
        trickling = asyncio.gather(*(attacker.trickle(started + 6) for attacker in attackers))
        await asyncio.sleep(0.3)
        during = await healthz_answer(server.port, timeout=2)
        assert during in (200, 503), f"a new client got no answer during the attack ({during})"
        await asyncio.sleep(1.5)
        after = await healthz_answer(server.port, timeout=2)
        assert after == 200, f"a new client was still refused after the header timeout ({after})"
        await trickling
        cut = [a for a in attackers if a.closed_at is not None]
        assert len(cut) == len(attackers), f"{len(attackers) - len(cut)} slowloris connections still open"
        assert max(a.closed_at for a in cut if a.closed_at) - started < 4  # type: ignore[operator]
        timed_out = [a for a in attackers if a.answer.startswith(b"HTTP/1.1 408")]
        refused = [a for a in attackers if a.answer.startswith(b"HTTP/1.1 503")]
        assert timed_out and refused and len(timed_out) + len(refused) == len(attackers)
    finally:
        for attacker in attackers:
            attacker.close()


async def test_idle_and_silent_connections_are_closed(server: ServerProcess) -> None:
    """A connection that sends nothing is closed after header_timeout; a keep-alive connection
    left idle after an answer, after keepalive_timeout."""
    server.start("--header-timeout", "1", "--keepalive-timeout", "2")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    opened = time.monotonic()
    assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.1 408")
    assert time.monotonic() - opened < 3
    writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # HTTP/1.1: keep-alive
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200") and b"Connection: close" not in head
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    await reader.readexactly(length)
    idle_since = time.monotonic()
    assert await asyncio.wait_for(reader.read(), 6) == b""  # closed by the server, nothing sent
    assert 1.5 < time.monotonic() - idle_since < 4
    writer.close()


async def test_connections_past_max_connections_get_503(server: ServerProcess) -> None:
    """With max_connections=20, 15 keep-alive HTTP connections and 5 WebSockets fill it: the
    next connection is 503 JSON with Retry-After; closing some lets new clients in again."""
    server.start("--max-connections", "20")
    sessions = [aiohttp.ClientSession(server.url) for _ in range(15)]
    async with contextlib.AsyncExitStack() as stack:
        for session in sessions:
            stack.push_async_callback(session.close)
            async with session.get("/healthz") as answer:  # keep-alive: the connection stays open
                assert answer.status == 200
        fans = aiohttp.ClientSession(server.url)
        stack.push_async_callback(fans.close)
        sockets = [await fans.ws_connect("/ws") for _ in range(5)]
        refused = await raw_exchange(server.port, raw_request("GET", "/healthz"))
        assert refused.status == 503 and refused.headers["retry-after"] == "1"
        assert error_of(refused)["code"] == "unavailable"
        for ws in sockets[:2]:
            await ws.close()
        await asyncio.sleep(0.2)
        assert (await raw_exchange(server.port, raw_request("GET", "/healthz"))).status == 200


async def test_a_request_body_trickling_in_gets_408(server: ServerProcess) -> None:
    """A POST whose headers came at once but whose body trickles in is answered 408 (our error
    shape) after header_timeout, instead of holding its handler for ever."""
    server.start("--header-timeout", "1")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    body = b'{"id": "slow", "home": "A", "away": "B"}'
    writer.write(b"POST /api/matches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + server.api_key.encode()
                 + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:5])
    started = time.monotonic()
    for byte in body[5:12]:
        await asyncio.sleep(0.25)
        writer.write(bytes([byte]))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 408"), head
    assert time.monotonic() - started < 3
    writer.close()
