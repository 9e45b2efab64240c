"""'N watching' over several instances on one Redis: summed, falling as fans leave and as an
instance stops or dies."""
from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from redis_server import RedisServer
from support import ServerProcess, free_port

from .conftest import API_KEY, Fan, Instance, InstanceFactory

INTERVAL = 0.2  # seconds between counts (5 by default)


async def watching(instance: Instance, match_id: str) -> int:
    status, body, _ = await instance.request("GET", f"/api/matches/{match_id}")
    assert status == 200, body
    return int(body["watching"])


async def until(read: Callable[[], Awaitable[int]], expected: int, timeout: float = 15.0) -> None:
    """`read()` answers `expected` within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (seen := await read()) != expected:
        assert loop.time() < deadline, f"watching stayed {seen}, expected {expected}"
        await asyncio.sleep(INTERVAL / 2)


async def until_told(fan: Fan, count: int, timeout: float = 15.0) -> None:
    """The fan is sent `watching` with `count` (earlier counts on the way may come first)."""
    while True:
        message = await fan.until("watching", timeout)
        if message["count"] == count:
            return


async def test_fans_on_both_instances_are_summed_and_fall_as_they_leave(
    redis_server: RedisServer, make_instance: InstanceFactory,
) -> None:
    """Two fans on A and one on B: both say 3 and tell their fans 3; leaving fans lower it
    everywhere, and a stopped instance's fans stop counting at once."""
    a = await make_instance(redis_server.url, watching_interval=INTERVAL)
    b = await make_instance(redis_server.url, watching_interval=INTERVAL)
    await a.create_match("final")
    on_a = [await a.fan("final"), await a.fan("final")]
    on_b = await b.fan("final")
    for instance in (a, b):
        await until(lambda: watching(instance, "final"), 3)
    for fan in (*on_a, on_b):
        await until_told(fan, 3)
    await on_a[0].ws.close()
    await until_told(on_b, 2)
    for instance in (a, b):
        await until(lambda: watching(instance, "final"), 2)
    await b.close()  # a clean stop takes its fans out of the count without waiting for the TTL
    await until(lambda: watching(a, "final"), 1)
    await until_told(on_a[1], 1)


async def test_a_crashed_instance_stops_counting_within_the_ttl(redis_server: RedisServer, tmp_path: Path) -> None:
    """Two real server processes; the one killed with SIGKILL leaves no cleanup behind, yet
    its fans leave the survivor's count within the TTL (a few seconds)."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    env = {"REDIS_URL": redis_server.url, "SCOREBOARD_REDIS_PREFIX": prefix,
           "SCOREBOARD_WATCHING_INTERVAL": str(INTERVAL), "SCOREBOARD_INGEST_RATE": "0",
           "SCOREBOARD_PUSH_PROCESSES": "0"}
    servers = [ServerProcess(port=free_port(), db=tmp_path / f"unused-{n}.db", api_key=API_KEY) for n in range(2)]
    for server in servers:
        server.start(env=env)
    survivor, doomed = servers
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            async def count() -> int:
                async with http.get(f"{survivor.url}/api/matches/cup") as response:
                    body: dict[str, Any] = await response.json()
                    return int(body["watching"])

            async with http.post(f"{survivor.url}/api/matches", json={"id": "cup", "home": "A", "away": "B"},
                                 headers={"Authorization": f"Bearer {API_KEY}"}) as response:
                assert response.status == 201, await response.text()
            fans = [await http.ws_connect(f"{server.url}/ws?matches=cup") for server in (survivor, doomed, doomed)]
            await until(count, 3)
            doomed.stop(signal.SIGKILL)
            await until(count, 1, timeout=8.0)
            for ws in fans:
                await ws.close()
    finally:
        for server in servers:
            server.stop()
