"""In Redis mode the ingest rate and the connections per client address are counted for the
whole service, not per instance (issue 10, item 13): two instances on one Redis allow what
one would, no more."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from redis.asyncio import Redis

from redis_server import RedisServer
from scoreboard.web.keys import CLIENT_CONNECTIONS_KEY

from .conftest import API_KEY, InstanceFactory


async def post(instance, match_id: str, count: int = 1) -> tuple[int, dict[str, str]]:  # type: ignore[no-untyped-def]
    assert instance.session is not None
    events = [{"type": "notification", "title": "t"}] * count
    async with instance.session.post(f"/api/matches/{match_id}/events", json=events,
                                     headers={"Authorization": f"Bearer {API_KEY}"}) as answer:
        return answer.status, dict(answer.headers)


async def fan_soon(instance, match_id: str, within: float = 3.0):  # type: ignore[no-untyped-def]
    """A fan on `instance`, retrying while a slot freed elsewhere is still being given back."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await instance.fan(match_id)
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status != 429 or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_ingest_rate_holds_across_instances(redis_server: RedisServer, make_instance: InstanceFactory) -> None:
    """ingest_burst=4 at 0.5/s: four events posted through two instances use the whole budget;
    the fifth is 429 with Retry-After on either instance."""
    a = await make_instance(redis_server.url, ingest_rate=0.5, ingest_burst=4)
    b = await make_instance(redis_server.url, ingest_rate=0.5, ingest_burst=4)
    await a.create_match("m", kickoff=False)  # no event yet: the budget is whole
    statuses = [(await post(instance, "m"))[0] for instance in (a, b, a, b)]
    assert statuses == [201] * 4
    for instance in (a, b):
        status, headers = await post(instance, "m")
        assert status == 429 and int(headers["Retry-After"]) >= 1


async def test_connections_per_client_hold_across_instances(
    redis_server: RedisServer, make_instance: InstanceFactory,
) -> None:
    """max_connections_per_client=2: one fan on each instance uses both; a third is refused
    (429) on either; closing one frees a slot anywhere, and so does an instance that died (its
    liveness key expired) without giving its connections back."""
    a = await make_instance(redis_server.url, max_connections_per_client=2)
    b = await make_instance(redis_server.url, max_connections_per_client=2)
    c = await make_instance(redis_server.url, max_connections_per_client=2)
    await a.create_match("m")
    on_a = await a.fan("m")
    on_b = await b.fan("m")
    for instance in (a, c):
        assert instance.session is not None
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await instance.session.ws_connect("/ws?matches=m")
        assert refused.value.status == 429
    await on_a.ws.close()
    again = await fan_soon(c, "m")  # the slot freed on A is taken on C
    # B "dies": its liveness key expires (as 30 s after a crash), its fan is still counted there.
    shared = b.server.app[CLIENT_CONNECTIONS_KEY].shared
    assert shared is not None
    client = Redis.from_url(redis_server.url)
    assert await client.delete(f"{b.settings.redis_prefix}limits:instance:{shared.instance}") == 1
    await client.aclose()
    await (await fan_soon(a, "m", within=0.5)).ws.close()
    await again.ws.close()
    await on_b.ws.close()
