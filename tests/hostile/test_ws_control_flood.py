"""Control-frame and fragment floods from WebSocket clients that never read, against the real
process (issue 10, items 3 and 4): the attacker is cut off, the server's memory stays put and
other scorekeepers are still answered."""
from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from support import AUTH, ServerProcess, free_port

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]

PING, CONTINUATION, TEXT = 0x9, 0x0, 0x1


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    served = ServerProcess(port=free_port(), db=tmp_path / "flood.db")
    yield served
    if served.process is not None and served.process.poll() is None:
        served.stop()


def masked_frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """One client frame (payloads under 126 bytes), masked as RFC 6455 requires of clients."""
    mask = os.urandom(4)
    body = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)]) + mask + body


def open_reading_nothing(port: int, path: str = "/ws") -> socket.socket:
    """A WebSocket whose client reads the 101 and then never reads again (tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # byte by byte: nothing past the 101 is read
    assert head.startswith(b"HTTP/1.1 101"), head
    sock.settimeout(1.0)
    return sock


def send_until_cut(sock: socket.socket, chunk: bytes, seconds: float, pause: float = 0.0) -> float | None:
    """Send `chunk` again and again; the seconds until the server hung up, or None if it never did."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            sock.sendall(chunk)
        except TimeoutError:
            continue  # the server is not reading right now: keep pushing
        except OSError:
            return time.monotonic() - started
        if pause:
            time.sleep(pause)
    return None


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def post_goal(session: aiohttp.ClientSession, url: str) -> int:
    async with session.post(f"{url}/api/matches/m1/events", json={"type": "notification", "title": "x"},
                            headers=AUTH) as response:
        return response.status


async def start_match(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/api/matches", json={"id": "m1", "home": "A", "away": "B"},
                                headers=AUTH) as response:
            assert response.status == 201
        async with session.post(f"{url}/api/matches/m1/events", json={"type": "period_start"},
                                headers=AUTH) as response:
            assert response.status == 201


async def test_a_ping_flood_that_never_reads_is_cut_and_others_are_served(server: ServerProcess) -> None:
    """Pings as fast as TCP takes them, never a byte read: the connection is closed within
    seconds (not kept alive by its own pings), the server's RSS does not balloon and another
    scorekeeper's POSTs are answered throughout."""
    server.start()
    assert server.process is not None
    await start_match(server.url)
    before = rss_bytes(server.process.pid)
    flooder = open_reading_nothing(server.port, "/ws?matches=m1")
    pings = b"".join(masked_frame(PING, b"p" * 125) for _ in range(500))
    try:
        flood = asyncio.create_task(asyncio.to_thread(send_until_cut, flooder, pings, 20.0))
        answered = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while not flood.done():
                answered.append(await post_goal(session, server.url))
                await asyncio.sleep(0.05)
        cut_after = await flood
    finally:
        flooder.close()
    assert cut_after is not None, "the ping flood was never cut off"
    assert answered and set(answered) == {201}, answered
    growth = rss_bytes(server.process.pid) - before
    assert growth < 40 * 1024 * 1024, f"RSS grew by {growth / 1e6:.0f} MB during the flood"


async def test_pings_below_the_budget_do_not_keep_a_non_reader_alive(server: ServerProcess) -> None:
    """A few pings a second (under the control-frame budget), never reading: the heartbeat
    still drops the connection, as it drops any client that does not answer its pings."""
    server.start(env={"SCOREBOARD_WS_PING_INTERVAL": "0.5"})
    await start_match(server.url)
    trickler = open_reading_nothing(server.port, "/ws?matches=m1")
    try:
        cut_after = await asyncio.to_thread(send_until_cut, trickler, masked_frame(PING), 15.0, 0.1)
    finally:
        trickler.close()
    assert cut_after is not None, "a client that only pings was kept alive for 15 s"


async def test_endless_empty_continuation_frames_close_with_1009(server: ServerProcess) -> None:
    """A text message started and then followed by 200,000 empty continuation frames: the
    connection is closed with 1009 (too many fragments), and the server's memory stays put."""
    server.start()
    assert server.process is not None
    await start_match(server.url)
    before = rss_bytes(server.process.pid)
    sock = socket.create_connection(("127.0.0.1", server.port))
    reader = sock.makefile("rb")
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    while reader.readline() not in (b"\r\n", b""):
        pass
    empties = masked_frame(CONTINUATION, fin=False) * 10_000
    try:
        sock.sendall(masked_frame(TEXT, b"{", fin=False))
        sent = 0
        try:
            for _ in range(20):
                sock.sendall(empties)
                sent += 10_000
        except OSError:
            pass  # cut off before all were sent: what we want
        sock.settimeout(5)
        code = None
        while code is None:
            first, second = reader.read(2)
            payload = reader.read(second & 0x7F)
            if first & 0x0F == 0x8:
                code = struct.unpack("!H", payload[:2])[0]
    finally:
        sock.close()
    assert code == 1009
    growth = rss_bytes(server.process.pid) - before
    assert growth < 40 * 1024 * 1024, f"RSS grew by {growth / 1e6:.0f} MB"
