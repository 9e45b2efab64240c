"""Web Push end to end, in process: subscriptions through the API, pushes to the local push
service, which checks VAPID and decrypts every message with the browser's own key."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from push_service import PushService
from support import AUTH, create_match, post_events

from .conftest import subscribe


async def server_key(client: Any, push_service: PushService) -> str:
    response = await client.get("/api/push/key")
    assert response.status == 200
    key = (await response.json())["public_key"]
    push_service.server_key = key
    return key


async def test_a_goal_reaches_every_matching_subscription_once(notify_client: Any, push_service: PushService) -> None:
    """Fans of the match and followers of either team get one push each; others get none."""
    client = notify_client
    await server_key(client, push_service)
    await create_match(client, "arg-fra")
    await create_match(client, "bra-cro", home="Brazil", away="Croatia")
    fans = {
        "match-fan": {"matches": ["arg-fra"]},
        "home-follower": {"teams": ["argentina"]},  # by name, any case
        "away-follower": {"teams": ["France"]},
        "both": {"matches": ["arg-fra"], "teams": ["Argentina"]},
        "other-match": {"matches": ["bra-cro"]},
        "cards-only": {"matches": ["arg-fra"], "events": ["red_card"]},
    }
    for name, choice in fans.items():
        await subscribe(client, {"subscription": push_service.browser(name).subscription(), **choice})

    await post_events(client, "arg-fra", [{"type": "period_start"},
                                          {"type": "goal", "team": "home", "player": "Messi", "minute": 23, "penalty": True}])
    wanted = {"match-fan", "home-follower", "away-follower", "both"}
    await push_service.wait_for(lambda: {d.browser for d in push_service.deliveries
                                         if d.message.get("kind") == "goal"} >= wanted)
    await asyncio.sleep(0.3)  # a duplicate would arrive by now
    goals = [d for d in push_service.deliveries if d.message["kind"] == "goal"]
    assert sorted(d.browser for d in goals) == sorted(wanted)
    message = goals[0].message
    assert message["title"] == "GOAL! Argentina 1–0 France"
    assert message["body"] == "Messi 23' (pen.)"
    assert message["url"] == "/matches/arg-fra" and message["score"] == {"home": 1, "away": 0}
    assert goals[0].headers["Urgency"] == "high"
    assert int(goals[0].headers["TTL"]) > 3000
    assert len(goals[0].headers["Topic"]) <= 32
    kickoffs = [d for d in push_service.deliveries if d.message["kind"] == "kickoff"]
    assert sorted(d.browser for d in kickoffs) == sorted(wanted)
    assert kickoffs[0].headers["Urgency"] == "normal"
    assert push_service.for_browser("other-match") == [] and push_service.for_browser("cards-only") == []


async def test_gone_subscription_is_deleted(notify_client: Any, push_service: PushService) -> None:
    """A 410 from the push service deletes the subscription: its token no longer finds it."""
    client = notify_client
    await create_match(client)
    gone = push_service.browser("gone")
    gone.answers = [410]
    made = await subscribe(client, {"subscription": gone.subscription(), "matches": ["arg-fra"]})
    await post_events(client, "arg-fra", {"type": "period_start"})
    headers = {"Authorization": f"Bearer {made['token']}"}

    async def deleted() -> bool:
        response = await client.get(f"/api/push/subscriptions/{made['id']}", headers=headers)
        return response.status == 404

    for _ in range(100):
        if await deleted():
            break
        await asyncio.sleep(0.05)
    assert await deleted()
    await post_events(client, "arg-fra", {"type": "goal", "team": "home"})
    await asyncio.sleep(0.3)
    assert push_service.requests == 1


async def test_busy_push_service_is_retried_after_retry_after(notify_client: Any, push_service: PushService) -> None:
    """429 with Retry-After, then 503: the push still arrives, once, after the wait."""
    client = notify_client
    await create_match(client)
    busy = push_service.browser("busy")
    busy.answers, busy.retry_after = [429, 503], "1"
    await subscribe(client, {"subscription": busy.subscription(), "matches": ["arg-fra"]})
    posted = asyncio.get_running_loop().time()
    await post_events(client, "arg-fra", {"type": "period_start"})
    await push_service.wait_for(lambda: len(push_service.for_browser("busy")) == 1, timeout=15)
    assert asyncio.get_running_loop().time() - posted >= 1.0  # Retry-After was honoured
    assert push_service.requests == 3


async def test_private_match_needs_a_viewer_token_and_is_not_pushed_to_team_followers(
    notify_client: Any, push_service: PushService,
) -> None:
    """Subscribing to a private match needs its viewer token; a team follower never hears of it."""
    client = notify_client
    await create_match(client, "youth-final", private=True)
    fan = push_service.browser("fan")
    body = {"subscription": fan.subscription(), "matches": ["youth-final"]}
    await subscribe(client, body, status=401)
    token = (await (await client.post("/api/matches/youth-final/tokens", json={}, headers=AUTH)).json())["token"]
    await subscribe(client, body, params={"token": token})
    await subscribe(client, {"subscription": push_service.browser("follower").subscription(), "teams": ["Argentina"]})
    await post_events(client, "youth-final", {"type": "period_start"})
    await push_service.wait_for(lambda: len(push_service.for_browser("fan")) == 1)
    await asyncio.sleep(0.3)
    assert push_service.for_browser("follower") == []


@pytest.mark.parametrize("endpoint, reason", [
    ("http://push.example.com/x", "https"),
    ("https://127.0.0.1/push", "loopback"),
    ("https://10.0.0.7/push", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://localhost:8443/push", "loopback"),
])
async def test_plain_http_or_private_push_endpoint_is_refused_by_default(
    aiohttp_client: Any, tmp_path: Any, push_service: PushService, endpoint: str, reason: str,
) -> None:
    """Without outbound_allow_private, an http or non-public endpoint is a 422 naming why."""
    from scoreboard.web.app import create_app

    from .conftest import notify_settings

    client = await aiohttp_client(create_app(notify_settings(tmp_path, outbound_allow_private=False, push_processes=0)))
    await create_match(client)
    browser = push_service.browser("b").subscription()
    browser["endpoint"] = endpoint
    answer = await subscribe(client, {"subscription": browser, "matches": ["arg-fra"]}, status=422)
    assert answer["error"]["code"] == "validation_failed"
    assert reason in answer["error"]["fields"]["subscription"]["endpoint"][0]


async def test_subscription_is_managed_with_its_token_only(notify_client: Any, push_service: PushService) -> None:
    """PUT changes what a subscription follows; a wrong token is 403, none 401; DELETE ends it."""
    client = notify_client
    await create_match(client)
    made = await subscribe(client, {"subscription": push_service.browser("b").subscription(), "matches": ["arg-fra"]})
    assert made["token"].startswith("pst_") and made["teams"] == []
    url = f"/api/push/subscriptions/{made['id']}"
    mine = {"Authorization": f"Bearer {made['token']}"}
    assert (await client.put(url, json={"teams": ["Brazil"]})).status == 401
    assert (await client.put(url, json={"teams": ["Brazil"]}, headers={"Authorization": "Bearer pst_nope"})).status == 403
    response = await client.put(url, json={"teams": ["Brazil"], "events": ["goal"]}, headers=mine)
    assert response.status == 200, await response.text()
    assert (await response.json())["teams"] == ["Brazil"]
    assert (await client.delete(url, headers=mine)).status == 204
    assert (await client.get(url, headers=mine)).status == 404


async def test_bad_subscription_bodies_are_422_with_fields(notify_client: Any, push_service: PushService) -> None:
    """Broken keys, unknown matches, nothing followed, unknown kinds: 422, never a 500."""
    client = notify_client
    await create_match(client)
    good = push_service.browser("b").subscription()
    cases = [
        ({"subscription": {**good, "keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}}, "matches": ["arg-fra"]}, "subscription"),
        ({"subscription": {**good, "keys": {"p256dh": good["keys"]["p256dh"], "auth": "c2hvcnQ"}}, "matches": ["arg-fra"]}, "subscription"),
        ({"subscription": good, "matches": ["no-such-match"]}, "matches"),
        ({"subscription": good}, "matches"),
        ({"subscription": good, "matches": ["arg-fra"], "events": ["yellow_card"]}, "events"),
        ({"matches": ["arg-fra"]}, "subscription"),
    ]
    for body, field_name in cases:
        answer = await subscribe(client, body, status=422)
        assert field_name in answer["error"]["fields"], (body, answer)
