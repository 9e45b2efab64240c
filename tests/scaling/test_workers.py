"""WEB_CONCURRENCY: several worker processes on one port, bridged by Redis; refused without it."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from redis_server import RedisServer
from support import free_port

from .conftest import API_KEY, Fan

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0
FANS = 16  # connections spread over the workers by the kernel; all on one worker: 2**-15


def worker_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({"SCOREBOARD_API_KEYS": API_KEY, "SCOREBOARD_INGEST_RATE": "0", **extra})
    return env


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def sockets_on_port(port: int, state: str) -> set[str]:
    """Inodes of TCP sockets whose local port is `port` in `state` (0A listen, 01 established)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


@pytest.fixture
def two_workers(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    log = (tmp_path / "workers.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "scoreboard", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--redis-url", redis_server.url, "--redis-prefix", f"w-{uuid.uuid4().hex[:8]}:"],
        cwd=ROOT, env=worker_env(WEB_CONCURRENCY="2"), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, (tmp_path / "workers.log").read_text()
            workers = children_of(process.pid)
            listening = sockets_on_port(port, "0A")
            if len(workers) == 2 and all(socket_inodes(w) & listening for w in workers):
                break
            assert time.monotonic() < deadline, "two workers did not both listen in time"
            time.sleep(0.05)
        yield port, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def test_two_workers_both_serve_and_share_events(two_workers: tuple[int, subprocess.Popen[bytes]]) -> None:
    """Fans spread over both workers all get every event, whichever worker took the POST."""
    port, process = two_workers
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession(base, timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.post("/api/matches", json={"id": "w", "home": "A", "away": "B"}, headers=headers) as response:
            assert response.status == 201, await response.text()
        async with session.post("/api/matches/w/events", json={"type": "period_start"}, headers=headers) as response:
            assert response.status == 201, await response.text()  # the kick-off is seq 1
        fans, sessions = [], []
        for _ in range(FANS):
            # A session per fan: a new TCP connection that the kernel may give either worker.
            sessions.append(aiohttp.ClientSession(base))
            fan = Fan(await sessions[-1].ws_connect("/ws?matches=w"))
            assert (await fan.receive())["type"] == "snapshot"
            assert (await fan.receive())["type"] == "subscribed"
            fans.append(fan)
        established = sockets_on_port(port, "01")
        held = [len(socket_inodes(w) & established) for w in children_of(process.pid)]
        assert len(held) == 2 and all(held), f"connections per worker: {held}"
        for n in range(10):
            async with aiohttp.ClientSession(base) as poster:  # new connection: either worker
                async with poster.post("/api/matches/w/events", json={"type": "goal", "team": "home"},
                                       headers=headers) as response:
                    assert response.status == 201, await response.text()
        for fan in fans:
            frames = await fan.events(10)
            assert [f["seq"] for f in frames] == list(range(2, 12))
        await asyncio.gather(*(fan.assert_silent(0.3) for fan in fans))
        for fan_session in sessions:
            await fan_session.close()


def test_web_concurrency_without_redis_is_refused(tmp_path: Path) -> None:
    """WEB_CONCURRENCY=2 on the embedded store exits 2 with a message naming the fix."""
    result = subprocess.run(
        [sys.executable, "-m", "scoreboard", "serve", "--port", str(free_port()),
         "--db", str(tmp_path / "x.db")],
        cwd=ROOT, env=worker_env(WEB_CONCURRENCY="2"), capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "WEB_CONCURRENCY=2 needs REDIS_URL" in result.stderr
