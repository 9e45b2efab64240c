"""A Redis outage: 503s while it is down, and after it returns every stored event reaches every fan once."""
from __future__ import annotations

import asyncio
import itertools

from redis_server import RedisServer

from .conftest import Instance, InstanceFactory

DEADLINE = 15.0


async def wait_ready(instance: Instance, want: int) -> None:
    async def poll() -> None:
        while (await instance.request("GET", "/readyz"))[0] != want:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), DEADLINE)


async def test_outage_loses_nothing_and_duplicates_nothing(
    persistent_redis: RedisServer, make_instance: InstanceFactory,
) -> None:
    """Kill Redis mid-stream and restart it: 2xx events all reach every fan, in order, once."""
    a = await make_instance(persistent_redis.url)
    b = await make_instance(persistent_redis.url)
    await a.create_match("blip")
    fans = [await a.fan("blip"), await a.fan("blip"), await b.fan("blip"), await b.fan("blip")]
    outcomes: dict[str, int] = {}  # event id -> HTTP status it got
    retry_after: set[str | None] = set()
    stop = asyncio.Event()

    async def scorekeeper() -> None:
        for n in itertools.count():
            if stop.is_set():
                return
            event_id = f"ev-{n}"
            status, _, headers = await (a if n % 2 else b).post(
                "blip", {"type": "goal", "team": "home", "id": event_id},
            )
            outcomes[event_id] = status
            if status == 503:
                retry_after.add(headers.get("Retry-After"))
            await asyncio.sleep(0.01)

    async def accepted_count(at_least: int) -> None:
        while sum(1 for s in outcomes.values() if s == 201) < at_least:
            await asyncio.sleep(0.01)

    posting = asyncio.create_task(scorekeeper())
    await asyncio.wait_for(accepted_count(20), DEADLINE)
    persistent_redis.kill()
    await wait_ready(a, 503)
    await wait_ready(b, 503)
    down_since = len(outcomes)
    await asyncio.sleep(0.5)  # keep posting while Redis is down
    assert (await a.request("GET", "/healthz"))[0] == 200
    assert all(not fan.ws.closed for fan in fans), "live connections must stay open"
    persistent_redis.start()
    await wait_ready(a, 200)
    await wait_ready(b, 200)
    before = sum(1 for s in outcomes.values() if s == 201)
    await asyncio.wait_for(accepted_count(before + 20), DEADLINE)
    stop.set()
    await asyncio.wait_for(posting, DEADLINE)

    assert set(outcomes.values()) <= {201, 503}, outcomes
    assert list(outcomes.values())[down_since:].count(503) > 0, "no request saw the outage"
    assert retry_after == {"1"}
    status, body, _ = await a.request("GET", "/api/matches/blip/events?since=1")  # after the kick-off
    log = body["events"]
    assert [e["seq"] for e in log] == list(range(2, len(log) + 2))
    stored = {e["id"] for e in log}
    assert {i for i, s in outcomes.items() if s == 201} <= stored, "a 2xx event was lost"
    for fan in fans:
        frames = await fan.events(len(log))
        assert [f["event"]["id"] for f in frames] == [e["id"] for e in log]
        await fan.assert_silent()
