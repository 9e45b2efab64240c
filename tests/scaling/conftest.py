"""Fixtures for Redis mode: a real redis-server per test and app instances that share it."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from redis_server import RedisServer, require_redis
from support import ServiceTestServer, receive_json
from scoreboard.settings import FIELDS, Settings
from scoreboard.web.app import create_app

API_KEY = "scaling-test-key"
RECEIVE_TIMEOUT = 5.0


class Fan:
    """One WebSocket subscriber; every receive has a timeout. Fan counts (`watching`, sent
    whenever the number on a match changes, at times no test controls) are passed over unless
    asked for (`support.receive_json`)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def receive(self, timeout: float = RECEIVE_TIMEOUT, *, watching: bool = False) -> dict[str, Any]:
        return await receive_json(self.ws, timeout, watching=watching)

    async def until(self, kind: str, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        while True:
            message = await self.receive(timeout, watching=kind == "watching")
            if message["type"] == kind:
                return message

    async def events(self, count: int, timeout: float = RECEIVE_TIMEOUT) -> list[dict[str, Any]]:
        """The next `count` event frames; any other frame type fails the test."""
        received = []
        for _ in range(count):
            message = await self.receive(timeout)
            assert message["type"] == "event", message
            received.append(message)
        return received

    async def assert_silent(self, timeout: float = 0.5) -> None:
        """Nothing but fan counts arrives within `timeout`."""
        try:
            message = await self.receive(timeout)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame: {message}")


CLOSE_TIMEOUT = 30.0  # seconds an instance may take to stop in a teardown


class Instance:
    """One app (its own hub, its own stream follower) on a free port, with an HTTP client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server = ServiceTestServer(create_app(settings), host="127.0.0.1")  # as `scoreboard serve` listens
        self.session: aiohttp.ClientSession | None = None
        self.closed = False

    async def start(self) -> Instance:
        await self.server.start_server()
        self.session = aiohttp.ClientSession(
            base_url=str(self.server.make_url("/")), timeout=aiohttp.ClientTimeout(total=15),
        )
        return self

    async def close(self) -> None:
        """Stop the client and the server, once (a test may stop an instance itself)."""
        if self.closed:
            return
        self.closed = True
        if self.session is not None:
            await self.session.close()
        await self.server.close()

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any, Any]:
        assert self.session is not None
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with self.session.request(method, path, json=body, headers=headers) as response:
            return response.status, await response.json(), response.headers

    async def create_match(self, match_id: str, kickoff: bool = True) -> dict[str, Any]:
        """Create a match and (unless `kickoff` is false) start its first period: seq 1, so
        the goals a test posts are seqs 2, 3, ..."""
        status, body, _ = await self.request(
            "POST", "/api/matches", {"id": match_id, "home": "Home", "away": "Away"},
        )
        assert status == 201, body
        if kickoff:
            status, started, _ = await self.post(match_id, {"type": "period_start"})
            assert status == 201, started
        return body

    async def post(self, match_id: str, *events: dict[str, Any]) -> tuple[int, Any, Any]:
        return await self.request("POST", f"/api/matches/{match_id}/events", list(events))

    async def fan(self, match_id: str) -> Fan:
        """A subscriber that has had its snapshot and confirmation: live from here on."""
        assert self.session is not None
        fan = Fan(await self.session.ws_connect(f"/ws?matches={match_id}", timeout=aiohttp.ClientWSTimeout(ws_close=2)))
        assert (await fan.receive())["type"] == "snapshot"
        assert (await fan.receive())["type"] == "subscribed"
        return fan


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    require_redis()
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def persistent_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis whose data survives a SIGKILL and restart (appendfsync always)."""
    require_redis()
    server = RedisServer(tmp_path / "redis-aof", persistent=True)
    server.start()
    yield server
    server.stop()


def redis_settings(url: str, prefix: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": url, "redis_prefix": prefix, "api_keys": (API_KEY,), "redis_timeout": 1.0,
        "db": ":memory:",
    }
    if "ingest_rate" in FIELDS:
        values["ingest_rate"] = 0.0  # these tests post faster than a scorekeeper may
    values.update(overrides)
    return Settings(**values)


InstanceFactory = Callable[..., Awaitable[Instance]]


@pytest.fixture
async def make_instance() -> AsyncIterator[Callable[[str], Awaitable[Instance]]]:
    """make_instance(redis_url, **settings) -> a started Instance; all share one key prefix."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    started: list[Instance] = []

    async def make(url: str, **overrides: Any) -> Instance:
        instance = await Instance(redis_settings(url, prefix, **overrides)).start()
        started.append(instance)
        return instance

    yield make
    for instance in reversed(started):
        # Bounded: a stop that hangs fails this test's teardown instead of the whole run.
        await asyncio.wait_for(instance.close(), CLOSE_TIMEOUT)
