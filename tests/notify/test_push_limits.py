"""Abuse limits of the push subscription API, which needs no key: requests per client address,
subscriptions per address and in all, matches and teams per subscription (Redis mode, where
they hold for the whole service: test_redis_mode.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from push_service import PushService
from scoreboard.web.app import create_app
from scoreboard.web.security.limits import ClientRateLimiter, RateLimited
from support import create_match

from .conftest import notify_settings, subscribe


async def limited_client(aiohttp_client: Any, tmp_path: Path, **limits: Any) -> Any:
    """An app that takes the client address from X-Forwarded-For, so a test can be several clients."""
    values: dict[str, Any] = {"push_processes": 0, "trust_forwarded": True, **limits}
    client = await aiohttp_client(create_app(notify_settings(tmp_path, **values)))
    await create_match(client)
    return client


def from_address(address: str) -> dict[str, dict[str, str]]:
    return {"headers": {"X-Forwarded-For": address}}


async def test_subscription_requests_are_rate_limited_per_client_address(
    aiohttp_client: Any, tmp_path: Path, push_service: PushService,
) -> None:
    """A burst of 3 (POST and PUT alike), then 429 rate_limited with Retry-After; another address is unaffected."""
    client = await limited_client(aiohttp_client, tmp_path, push_subscribe_rate=0.05, push_subscribe_burst=3)
    made = await subscribe(client, {"subscription": push_service.browser("a").subscription(),
                                    "matches": ["arg-fra"]}, **from_address("203.0.113.7"))
    await subscribe(client, {"subscription": push_service.browser("b").subscription(), "matches": ["arg-fra"]},
                    **from_address("203.0.113.7"))
    renew = await client.put(f"/api/push/subscriptions/{made['id']}", json={"teams": ["France"]}, headers={
        "Authorization": f"Bearer {made['token']}", "X-Forwarded-For": "203.0.113.7"})
    assert renew.status == 200, await renew.text()
    for attempt in ("POST", "PUT"):
        path = "/api/push/subscriptions" + ("" if attempt == "POST" else f"/{made['id']}")
        refused = await client.request(attempt, path, json={
            "subscription": push_service.browser("c").subscription(), "matches": ["arg-fra"]},
            headers={"Authorization": f"Bearer {made['token']}", "X-Forwarded-For": "203.0.113.7"})
        assert refused.status == 429, await refused.text()
        error = (await refused.json())["error"]
        assert error["code"] == "rate_limited" and "3" in error["message"]
        assert int(refused.headers["Retry-After"]) >= 1
    await subscribe(client, {"subscription": push_service.browser("d").subscription(), "matches": ["arg-fra"]},
                    **from_address("198.51.100.9"))


async def test_subscriptions_per_client_address_are_capped(
    aiohttp_client: Any, tmp_path: Path, push_service: PushService,
) -> None:
    """Two per address: the third is 429 quota_exceeded; the same browser subscribing again
    replaces its own; another address may; deleting one frees a place."""
    client = await limited_client(aiohttp_client, tmp_path, push_max_per_client=2)
    home = from_address("203.0.113.7")
    first = await subscribe(client, {"subscription": push_service.browser("a").subscription(),
                                     "matches": ["arg-fra"]}, **home)
    await subscribe(client, {"subscription": push_service.browser("b").subscription(), "teams": ["France"]}, **home)
    third = {"subscription": push_service.browser("c").subscription(), "matches": ["arg-fra"]}
    refused = await subscribe(client, third, status=429, **home)
    assert refused["error"]["code"] == "quota_exceeded"
    assert "2 push subscriptions" in refused["error"]["message"]
    again = await subscribe(client, {"subscription": push_service.browsers["a"].subscription(),
                                     "teams": ["Argentina"]}, **home)  # replaces "a": no new place taken
    assert again["id"] != first["id"]
    await subscribe(client, third, **from_address("198.51.100.9"))
    deleted = await client.delete(f"/api/push/subscriptions/{again['id']}",
                                  headers={"Authorization": f"Bearer {again['token']}"})
    assert deleted.status == 204
    await subscribe(client, {"subscription": push_service.browser("e").subscription(),
                             "matches": ["arg-fra"]}, **home)


async def test_a_full_service_answers_507_to_everyone(
    aiohttp_client: Any, tmp_path: Path, push_service: PushService,
) -> None:
    """push_max_subscriptions=2: the third subscription, from any address, is 507 insufficient_storage."""
    client = await limited_client(aiohttp_client, tmp_path, push_max_subscriptions=2)
    for n, address in enumerate(("203.0.113.1", "203.0.113.2")):
        await subscribe(client, {"subscription": push_service.browser(f"b{n}").subscription(),
                                 "matches": ["arg-fra"]}, **from_address(address))
    full = await subscribe(client, {"subscription": push_service.browser("late").subscription(),
                                    "matches": ["arg-fra"]}, status=507, **from_address("203.0.113.3"))
    assert full["error"]["code"] == "insufficient_storage" and "at most 2" in full["error"]["message"]


async def test_matches_and_teams_per_subscription_are_capped(
    aiohttp_client: Any, tmp_path: Path, push_service: PushService,
) -> None:
    """push_max_matches=2 and push_max_teams=1: more is 422 naming the list, on POST and PUT; duplicates count once."""
    client = await limited_client(aiohttp_client, tmp_path, push_max_matches=2, push_max_teams=1)
    await create_match(client, "bra-cro", home="Brazil", away="Croatia")
    await create_match(client, "esp-ger", home="Spain", away="Germany")
    browser = push_service.browser("b").subscription()
    too_many = await subscribe(client, {"subscription": browser, "matches": ["arg-fra", "bra-cro", "esp-ger"]},
                               status=422)
    assert "at most 2 matches" in too_many["error"]["fields"]["matches"][0]
    teams = await subscribe(client, {"subscription": browser, "teams": ["Brazil", "Spain"]}, status=422)
    assert "at most 1 teams" in teams["error"]["fields"]["teams"][0]
    made = await subscribe(client, {"subscription": browser, "matches": ["arg-fra", "bra-cro", "arg-fra"],
                                    "teams": ["Spain", "spain"]})
    assert made["matches"] == ["arg-fra", "bra-cro"]
    changed = await client.put(f"/api/push/subscriptions/{made['id']}", json={"teams": ["Brazil", "Croatia"]},
                               headers={"Authorization": f"Bearer {made['token']}"})
    assert changed.status == 422 and "teams" in (await changed.json())["error"]["fields"]


def test_the_rate_limiter_forgets_addresses_rather_than_grow() -> None:
    """Past max_tracked addresses, refilled buckets go first, then the oldest half: memory stays bounded."""
    now = [0.0]
    limiter = ClientRateLimiter("t", "requests", rate=1.0, burst=2, clock=lambda: now[0], max_tracked=100)
    for n in range(100):
        limiter.charge(f"10.0.0.{n}")
    assert limiter.tracked() == 100
    now[0] = 5.0  # every bucket has refilled
    limiter.charge("10.0.1.1")
    assert limiter.tracked() == 1
    for n in range(500):  # a flood from many addresses at once: none refilled
        limiter.charge(f"10.1.{n // 250}.{n % 250}")
    assert limiter.tracked() <= 100
    limiter.charge("10.9.9.9")
    limiter.charge("10.9.9.9")
    with pytest.raises(RateLimited):  # a third within the same instant is over the burst
        limiter.charge("10.9.9.9")



def test_push_limits_are_on_by_default_and_validated() -> None:
    """The defaults README lists; a negative value or a zero burst names the setting."""
    from scoreboard.settings import Settings, SettingsError

    defaults = Settings()
    assert (defaults.push_subscribe_rate, defaults.push_subscribe_burst) == (0.2, 20)
    assert (defaults.push_max_per_client, defaults.push_max_subscriptions) == (200, 100_000)
    assert (defaults.push_max_matches, defaults.push_max_teams) == (100, 20)
    for bad in ({"push_subscribe_rate": -1}, {"push_max_per_client": -1}, {"push_max_subscriptions": -5},
                {"push_subscribe_burst": 0}, {"push_max_matches": 0}, {"push_max_teams": 0}):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            Settings(**bad)
