"""Redis mode under a reconnect storm (issue 14): the connection pool makes commands wait for
a free connection instead of failing, and a store that cannot answer tells a fan to come
back later (close 1013), never "internal error" (1011)."""
from __future__ import annotations

import asyncio

import aiohttp

from redis_server import RedisServer

from .conftest import RECEIVE_TIMEOUT, InstanceFactory


async def test_more_fans_at_once_than_pooled_connections_all_subscribe(
    redis_server: RedisServer, make_instance: InstanceFactory,
) -> None:
    """40 fans subscribing at once through a pool of 2 Redis connections each get their
    snapshot and confirmation: the commands queue for a connection, none fails."""
    instance = await make_instance(redis_server.url, redis_pool_size=2)
    await instance.create_match("crowd")
    await instance.post("crowd", {"type": "goal", "team": "home"})
    assert instance.session is not None
    session = instance.session

    async def fan() -> list[str]:
        async with session.ws_connect("/ws?matches=crowd") as ws:
            kinds = []
            while len(kinds) < 2:
                message = await ws.receive(RECEIVE_TIMEOUT)
                assert message.type == aiohttp.WSMsgType.TEXT, (message.type, message.data, ws.close_code)
                kinds.append(message.json()["type"])
            return kinds

    results = await asyncio.gather(*(fan() for _ in range(40)))
    assert all(kinds == ["snapshot", "subscribed"] for kinds in results), results


async def test_a_fan_arriving_while_redis_is_down_is_told_to_come_back_later(
    persistent_redis: RedisServer, make_instance: InstanceFactory,
) -> None:
    """With Redis unreachable a new fan's subscribe is closed with 1013 (try again later),
    which live.js answers with a jittered retry; once Redis is back the same fan subscribes."""
    instance = await make_instance(persistent_redis.url)
    await instance.create_match("outage")
    assert instance.session is not None
    persistent_redis.kill()
    async with instance.session.ws_connect("/ws?matches=outage") as ws:
        message = await ws.receive(RECEIVE_TIMEOUT)
        assert message.type == aiohttp.WSMsgType.CLOSE, (message.type, message.data)
        assert message.data == 1013, message
    persistent_redis.start()
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        async with instance.session.ws_connect("/ws?matches=outage") as ws:
            message = await ws.receive(RECEIVE_TIMEOUT)
            if message.type == aiohttp.WSMsgType.TEXT:
                assert message.json()["type"] == "snapshot"
                break
            assert message.data == 1013, message  # not back yet: the same answer
        assert asyncio.get_running_loop().time() < deadline, "never subscribed after Redis came back"
        await asyncio.sleep(0.2)
