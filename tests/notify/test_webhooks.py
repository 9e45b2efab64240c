"""Signed webhooks in process: management API, signatures, order, retries, disabling."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from scoreboard.web.app import create_app
from support import AUTH, create_match, post_events
from webhook_receiver import WebhookReceiver

from .conftest import SCOPED_KEY, notify_settings


async def register(client: Any, receiver: WebhookReceiver, **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/webhooks", json={"url": receiver.url, **extra}, headers=AUTH)
    assert response.status == 201, await response.text()
    made = await response.json()
    receiver.secret = made["secret"]
    return made


async def deliveries_when_done(client: Any, webhook_id: str) -> dict[str, Any]:
    """The deliveries listing once nothing is pending (the last 2xx is recorded just after the receiver saw it)."""
    for _ in range(100):
        listing: dict[str, Any] = await (await client.get(f"/api/webhooks/{webhook_id}/deliveries", headers=AUTH)).json()
        if listing["pending"] == 0:
            break
        await asyncio.sleep(0.05)
    return listing


async def test_webhook_management_needs_an_unscoped_key_and_shows_the_secret_once(
    notify_client: Any, receiver: WebhookReceiver,
) -> None:
    """401 without a key, 403 with a scoped one; the secret is in the 201 and nowhere after."""
    client = notify_client
    body = {"url": receiver.url}
    assert (await client.post("/api/webhooks", json=body)).status == 401
    scoped = {"Authorization": f"Bearer {SCOPED_KEY}"}
    assert (await client.post("/api/webhooks", json=body, headers=scoped)).status == 403
    made = await register(client, receiver, events=["goal"], matches=["arg-fra"])
    assert made["secret"].startswith("whsec_") and made["disabled"] is None
    listed = await (await client.get("/api/webhooks", headers=AUTH)).json()
    assert [w["id"] for w in listed["webhooks"]] == [made["id"]]
    assert "secret" not in listed["webhooks"][0]
    one = await (await client.get(f"/api/webhooks/{made['id']}", headers=AUTH)).json()
    assert one["events"] == ["goal"] and one["matches"] == ["arg-fra"] and "secret" not in one
    assert (await client.delete(f"/api/webhooks/{made['id']}", headers=AUTH)).status == 204
    assert (await client.get(f"/api/webhooks/{made['id']}", headers=AUTH)).status == 404
    bad = await client.post("/api/webhooks", json={"url": receiver.url, "events": ["party"]}, headers=AUTH)
    assert bad.status == 422 and "events" in (await bad.json())["error"]["fields"]


@pytest.mark.parametrize("url, reason", [
    ("http://hooks.example.com/in", "https"),
    ("https://192.168.1.10/in", "private"),
    ("https://[::1]/in", "loopback"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
])
async def test_plain_http_or_private_webhook_url_is_refused_by_default(
    aiohttp_client: Any, tmp_path: Path, url: str, reason: str,
) -> None:
    """Without outbound_allow_private an http or non-public URL is a 422 saying why."""
    client = await aiohttp_client(create_app(notify_settings(tmp_path, outbound_allow_private=False)))
    response = await client.post("/api/webhooks", json={"url": url}, headers=AUTH)
    assert response.status == 422
    assert reason in (await response.json())["error"]["fields"]["url"][0]


async def test_deliveries_are_signed_filtered_and_in_seq_order_per_match(
    notify_client: Any, receiver: WebhookReceiver,
) -> None:
    """Each event of a followed match arrives signed, with the score after it, in seq order."""
    client = notify_client
    await create_match(client, "arg-fra")
    await create_match(client, "bra-cro", home="Brazil", away="Croatia")
    await create_match(client, "other")
    made = await register(client, receiver, matches=["arg-fra", "bra-cro"])
    for round_ in range(3):
        for match_id in ("arg-fra", "bra-cro", "other"):
            events: list[dict[str, Any]] = [{"type": "period_start"}] if round_ == 0 else []
            events.append({"type": "goal", "team": "home" if round_ % 2 else "away", "minute": 10 * round_ + 1})
            await post_events(client, match_id, events)
    await receiver.wait_for(lambda: len(receiver.received) == 8)
    assert receiver.seqs("arg-fra") == [1, 2, 3, 4] and receiver.seqs("bra-cro") == [1, 2, 3, 4]
    last = [r for r in receiver.received if r.body["match_id"] == "arg-fra"][-1]
    assert last.event_id == "arg-fra:4"
    assert last.body["event"]["type"] == "goal" and last.body["score"] == {"home": 1, "away": 2}
    assert last.body["match"]["home"] == "Argentina"
    listing = await deliveries_when_done(client, made["id"])
    assert listing["pending"] == 0 and len(listing["deliveries"]) == 8
    assert all(d["outcome"] == "delivered" and d["status"] == 200 for d in listing["deliveries"])


async def test_a_failed_delivery_is_retried_and_the_order_holds(notify_client: Any, receiver: WebhookReceiver) -> None:
    """A 503 holds the endpoint's queue: the retry comes first, then the next events."""
    client = notify_client
    await create_match(client)
    made = await register(client, receiver, events=["goal"])
    receiver.answers = [503]
    await post_events(client, "arg-fra", [{"type": "period_start"}, {"type": "goal", "team": "home"},
                                          {"type": "goal", "team": "away"}])
    await receiver.wait_for(lambda: len(receiver.received) == 2, timeout=15)
    assert receiver.seqs("arg-fra") == [2, 3]
    attempts = (await deliveries_when_done(client, made["id"]))["deliveries"]
    assert [(a["seq"], a["outcome"]) for a in reversed(attempts)] == [(2, "retrying"), (2, "delivered"), (3, "delivered")]
    assert attempts[-1]["status"] == 503
