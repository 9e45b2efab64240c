"""Two app instances on one Redis act as one service."""
from __future__ import annotations

import asyncio

from redis_server import RedisServer

from .conftest import InstanceFactory


async def test_every_fan_gets_every_event_once_in_order(redis_server: RedisServer, make_instance: InstanceFactory) -> None:
    """Events posted alternately to A and B reach every fan on both, once each, in seq order."""
    a = await make_instance(redis_server.url)
    b = await make_instance(redis_server.url)
    await a.create_match("final")
    fans = [await a.fan("final"), await a.fan("final"), await b.fan("final"), await b.fan("final")]
    count = 30
    for n in range(count):
        status, body, _ = await (a if n % 2 == 0 else b).post("final", {"type": "goal", "team": "home"})
        assert status == 201, body
        assert body["seq"] == n + 2  # after the kick-off
    for fan in fans:
        frames = await fan.events(count)
        assert [f["seq"] for f in frames] == list(range(2, count + 2))
        assert [f["score"]["home"] for f in frames] == list(range(1, count + 1))
        await fan.assert_silent()


async def test_concurrent_posts_get_distinct_gapless_seqs(redis_server: RedisServer, make_instance: InstanceFactory) -> None:
    """Posts racing through both instances get distinct seqs 1..N with no gap."""
    a = await make_instance(redis_server.url)
    b = await make_instance(redis_server.url)
    await a.create_match("race")
    count = 60
    replies = await asyncio.gather(*(
        (a if n % 2 else b).post("race", {"type": "goal", "team": "away", "id": f"e{n}"})
        for n in range(count)
    ))
    assert [status for status, _, _ in replies] == [201] * count
    seqs = sorted(body["seq"] for _, body, _ in replies)
    assert seqs == list(range(2, count + 2))
    for instance in (a, b):
        status, match, _ = await instance.request("GET", "/api/matches/race")
        assert (status, match["seq"], match["score"]["away"]) == (200, count + 1, count)
        _, log, _ = await instance.request("GET", "/api/matches/race/events?since=1")
        assert [e["seq"] for e in log["events"]] == list(range(2, count + 2))
        assert sorted(e["id"] for e in log["events"]) == sorted(f"e{n}" for n in range(count))


async def test_expected_seq_conflict_across_instances(redis_server: RedisServer, make_instance: InstanceFactory) -> None:
    """Two scorekeepers on different instances expecting the same seq: one wins, one gets 409."""
    a = await make_instance(redis_server.url)
    b = await make_instance(redis_server.url)
    await a.create_match("tight")
    status, _, _ = await a.post("tight", {"type": "goal", "team": "home", "expected_seq": 1})
    assert status == 201
    status, body, _ = await b.post("tight", {"type": "goal", "team": "home", "expected_seq": 1})
    assert (status, body["error"]["code"]) == (409, "seq_conflict")
    replies = await asyncio.gather(
        a.post("tight", {"type": "goal", "team": "home", "expected_seq": 2}),
        b.post("tight", {"type": "goal", "team": "away", "expected_seq": 2}),
    )
    assert sorted(status for status, _, _ in replies) == [201, 409]


async def test_state_and_idempotency_keys_are_shared(redis_server: RedisServer, make_instance: InstanceFactory) -> None:
    """A match made on A is read on B; a retry on B of an event posted on A is a repeat, not a copy."""
    a = await make_instance(redis_server.url)
    b = await make_instance(redis_server.url)
    await a.create_match("shared")
    status, body, _ = await b.request("POST", "/api/matches", {"id": "shared", "home": "X", "away": "Y"})
    assert (status, body["error"]["code"]) == (409, "match_exists")
    event = {"type": "goal", "team": "away", "id": "k-1"}
    status, first, _ = await a.post("shared", event)
    assert status == 201
    status, repeat, _ = await b.post("shared", event)
    assert (status, repeat["events"]) == (200, first["events"])
    status, body, _ = await b.post("shared", {**event, "team": "home"})
    assert (status, body["error"]["code"]) == (409, "id_conflict")
    _, listed, _ = await b.request("GET", "/api/matches")
    assert [m["id"] for m in listed["matches"]] == ["shared"]
    status, ready, _ = await b.request("GET", "/readyz")
    assert (status, ready) == (200, {"ready": True})


async def test_late_fan_resumes_with_since_on_the_other_instance(redis_server: RedisServer, make_instance: InstanceFactory) -> None:
    """A fan that saw seq 2 on A and reconnects to B with since=2 gets 3.. once, then live ones
    (seq 1 is the kick-off, 2-6 goals)."""
    a = await make_instance(redis_server.url)
    b = await make_instance(redis_server.url)
    await a.create_match("resume")
    for _ in range(5):
        assert (await a.post("resume", {"type": "goal", "team": "home"}))[0] == 201
    assert b.session is not None
    from .conftest import Fan

    fan = Fan(await b.session.ws_connect("/ws?matches=resume&since=resume:2"))
    caught_up = await fan.events(4)
    assert [f["seq"] for f in caught_up] == [3, 4, 5, 6]
    await fan.until("subscribed")
    assert (await a.post("resume", {"type": "goal", "team": "away"}))[0] == 201
    assert [f["seq"] for f in await fan.events(1)] == [7]
    await fan.assert_silent()
