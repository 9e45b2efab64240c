"""Redis mode: two instances on one Redis act as one notifier. One VAPID key for both,
subscriptions made on either, exactly one push per subscription and one delivery per event."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from push_service import PushService
from redis_server import RedisServer, require_redis
from scaling.conftest import Instance, redis_settings
from webhook_receiver import WebhookReceiver


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    require_redis()
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def pair(redis: RedisServer) -> AsyncIterator[tuple[Instance, Instance]]:
    settings = redis_settings(redis.url, "pair:", outbound_allow_private=True, ingest_rate=0.0,
                              vapid_subject="mailto:ops@scoreboard.test", push_processes=0)
    first = await Instance(settings).start()
    second = await Instance(settings).start()
    yield first, second
    await second.close()
    await first.close()


async def test_two_instances_push_each_subscription_exactly_once(pair: tuple[Instance, Instance]) -> None:
    """Both serve the same key; subscriptions made on A and B; goals posted to A and B:
    every subscription gets each push once, and webhooks each event once, in order."""
    first, second = pair
    push = await PushService().start()
    receiver = await WebhookReceiver().start()
    try:
        keys = set()
        for instance in pair:
            status, body, _ = await instance.request("GET", "/api/push/key")
            assert status == 200
            keys.add(body["public_key"])
        assert len(keys) == 1
        push.server_key = keys.pop()
        await first.create_match("derby", kickoff=False)  # kicked off below, once subscribed
        names = [f"fan-{n}" for n in range(6)]
        for n, name in enumerate(names):
            instance = pair[n % 2]
            status, body, _ = await instance.request("POST", "/api/push/subscriptions", {
                "subscription": push.browser(name).subscription(), "matches": ["derby"], "events": ["goal"]})
            assert status == 201, body
        status, hook, _ = await second.request("POST", "/api/webhooks", {"url": receiver.url})
        assert status == 201, hook
        receiver.secret = hook["secret"]
        assert (await first.post("derby", {"type": "period_start"}))[0] == 201
        for n in range(4):
            assert (await pair[n % 2].post("derby", {"type": "goal", "team": "home"}))[0] == 201
        await push.wait_for(lambda: len(push.deliveries) >= 4 * len(names), timeout=15)
        await receiver.wait_for(lambda: len(receiver.received) >= 5, timeout=15)
        await asyncio.sleep(1.0)  # time for a second instance's duplicate to show
        for name in names:
            assert sorted(d.message["seq"] for d in push.for_browser(name)) == [2, 3, 4, 5], name
        assert receiver.seqs("derby") == [1, 2, 3, 4, 5]
        assert push.rejected == [] and receiver.bad_signatures == 0
    finally:
        await push.stop()
        await receiver.stop()


async def test_a_new_leader_takes_over_when_the_first_stops(redis: RedisServer) -> None:
    """The instance sending notifications stops; the other one takes over and pushes the next goal."""
    settings = redis_settings(redis.url, "takeover:", outbound_allow_private=True, ingest_rate=0.0,
                              push_processes=0)
    first = await Instance(settings).start()
    second = await Instance(settings).start()
    push = await PushService().start()
    try:
        await first.create_match("final", kickoff=False)  # kicked off below, once subscribed
        status, body, _ = await second.request("POST", "/api/push/subscriptions", {
            "subscription": push.browser("fan").subscription(), "matches": ["final"]})
        assert status == 201, body
        await first.post("final", {"type": "period_start"})
        await push.wait_for(lambda: len(push.deliveries) == 1, timeout=15)
        leader, other = (first, second) if _leads(first) else (second, first)
        await leader.close()
        await other.post("final", {"type": "goal", "team": "away"})
        await push.wait_for(lambda: len(push.deliveries) == 2, timeout=20)
        assert push.deliveries[-1].message["title"] == "GOAL! Home 0–1 Away"
    finally:
        await push.stop()
        for instance in (first, second):
            await instance.close()


async def test_push_limits_hold_across_instances(redis: RedisServer) -> None:
    """Two instances on one Redis: a burst of 3 spent through both refuses the fourth on
    either; two subscriptions per address made through both refuse a third on either."""
    settings = redis_settings(redis.url, "limits:", outbound_allow_private=True, push_processes=0,
                              push_max_per_client=2, push_subscribe_rate=0.05, push_subscribe_burst=3)
    a = await Instance(settings).start()
    b = await Instance(settings).start()
    push = await PushService().start()
    try:
        await a.create_match("m", kickoff=False)

        async def post(instance: Any, name: str) -> tuple[int, Any]:
            status, body, _ = await instance.request("POST", "/api/push/subscriptions", {
                "subscription": push.browser(name).subscription(), "matches": ["m"]})
            return status, body

        assert [(await post(instance, f"f{n}"))[0] for n, instance in enumerate((a, b))] == [201, 201]
        status, body = await post(a, "f2")
        assert status == 429 and body["error"]["code"] == "quota_exceeded"  # the cap, counted in Redis
        for instance in (a, b):  # the burst of 3 is spent (the refused one counted too)
            status, body = await post(instance, "f3")
            assert status == 429 and body["error"]["code"] == "rate_limited", body
    finally:
        await push.stop()
        for instance in (a, b):
            await instance.close()


async def test_enabling_on_either_instance_resumes_delivery(pair: tuple[Instance, Instance]) -> None:
    """Paused and enabled through the instance that does not deliver: the one that does
    picks the outbox up (its sweep) and sends what waited, in order, once."""
    first, second = pair
    receiver = await WebhookReceiver().start()
    try:
        await first.create_match("cup", kickoff=False)
        status, hook, _ = await first.request("POST", "/api/webhooks", {"url": receiver.url})
        assert status == 201, hook
        receiver.secret = hook["secret"]
        await first.post("cup", {"type": "period_start"})
        await receiver.wait_for(lambda: len(receiver.received) == 1, timeout=15)
        follower = second if _leads(first) else first
        status, paused, _ = await follower.request("PATCH", f"/api/webhooks/{hook['id']}", {"enabled": False})
        assert status == 200 and paused["disabled"], paused
        await asyncio.sleep(2.5)  # the leader's endpoint list is cached for 2 s
        for _ in range(3):
            await follower.post("cup", {"type": "goal", "team": "home"})
        await asyncio.sleep(0.5)
        assert len(receiver.received) == 1
        status, enabled, _ = await follower.request("PATCH", f"/api/webhooks/{hook['id']}", {"enabled": True})
        assert status == 200 and enabled["disabled"] is None
        await receiver.wait_for(lambda: len(receiver.received) == 4, timeout=15)
        await asyncio.sleep(0.5)
        assert receiver.seqs("cup") == [1, 2, 3, 4] and receiver.bad_signatures == 0
    finally:
        await receiver.stop()


def _leads(instance: Instance) -> Any:
    from scoreboard.web.api.push import NOTIFY_KEY

    feed = instance.server.app[NOTIFY_KEY].feed
    return getattr(feed, "leading", False)
