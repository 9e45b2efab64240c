"""A webhook endpoint over its life: disabled after failing for webhook_max_age with its outbox
kept, paused and resumed, pointed elsewhere, its secret rotated without a refused delivery."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any


from scoreboard.notify.signing import verify
from scoreboard.web.app import create_app
from support import AUTH, create_match, post_events
from webhook_receiver import WebhookReceiver

from .conftest import SCOPED_KEY, notify_settings
from .test_webhooks import deliveries_when_done, register


async def view_of(client: Any, webhook_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/webhooks/{webhook_id}", headers=AUTH)
    assert response.status == 200
    return await response.json()


async def patch(client: Any, webhook_id: str, body: Any, status: int = 200, **headers: str) -> dict[str, Any]:
    response = await client.patch(f"/api/webhooks/{webhook_id}", json=body, headers={**AUTH, **headers})
    assert response.status == status, await response.text()
    return await response.json()


async def test_a_disabled_endpoint_keeps_its_outbox_and_enabling_resumes_it(
    aiohttp_client: Any, tmp_path: Path, receiver: WebhookReceiver,
) -> None:
    """Failing for webhook_max_age disables it; events go on joining its outbox; PATCH enabled
    delivers them in order, and what was queued over webhook_max_age ago is dropped as expired."""
    client = await aiohttp_client(create_app(notify_settings(tmp_path, webhook_max_age=3.0)))
    await create_match(client)
    made = await register(client, receiver)
    receiver.always = 500
    await post_events(client, "arg-fra", {"type": "period_start"})
    for _ in range(150):
        view = await view_of(client, made["id"])
        if view["disabled"]:
            break
        await asyncio.sleep(0.1)
    assert view["disabled"] and "HTTP 500" in view["disabled"]["reason"]
    listing = await (await client.get(f"/api/webhooks/{made['id']}/deliveries", headers=AUTH)).json()
    assert listing["deliveries"][0]["outcome"] == "gave_up" and listing["pending"] == 1

    receiver.always = None
    await post_events(client, "arg-fra", [{"type": "goal", "team": "home"}, {"type": "goal", "team": "away"}])
    await asyncio.sleep(0.5)
    assert receiver.received == []  # a disabled endpoint gets nothing ...
    listing = await (await client.get(f"/api/webhooks/{made['id']}/deliveries", headers=AUTH)).json()
    # ... but its outbox fills, keeping webhook_max_age: seq 1, queued before that, was dropped.
    assert listing["pending"] == 2 and listing["deliveries"][0]["outcome"] == "expired"

    enabled = await patch(client, made["id"], {"enabled": True})
    assert enabled["disabled"] is None
    await receiver.wait_for(lambda: len(receiver.received) == 2)
    assert receiver.seqs("arg-fra") == [2, 3]
    attempts = (await deliveries_when_done(client, made["id"]))["deliveries"]
    assert [a["outcome"] for a in attempts[:3]] == ["delivered", "delivered", "expired"]
    assert attempts[2]["event_id"] == "arg-fra:1" and "1 deliveries" in attempts[2]["error"]


async def test_pausing_and_resuming_delivers_what_waited_in_order(
    notify_client: Any, receiver: WebhookReceiver,
) -> None:
    """PATCH enabled=false pauses (nothing sent, the reason says so); enabled=true sends what waited, in seq order."""
    client = notify_client
    await create_match(client)
    await create_match(client, "bra-cro", home="Brazil", away="Croatia")
    made = await register(client, receiver)
    await post_events(client, "arg-fra", {"type": "period_start"})
    await receiver.wait_for(lambda: len(receiver.received) == 1)
    paused = await patch(client, made["id"], {"enabled": False})
    assert "disabled through the API" in paused["disabled"]["reason"]
    await post_events(client, "arg-fra", [{"type": "goal", "team": "home"}, {"type": "goal", "team": "home"}])
    await post_events(client, "bra-cro", [{"type": "period_start"}, {"type": "goal", "team": "away"}])
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 1
    await patch(client, made["id"], {"enabled": True})
    await receiver.wait_for(lambda: len(receiver.received) == 5)
    assert receiver.seqs("arg-fra") == [1, 2, 3] and receiver.seqs("bra-cro") == [1, 2]
    assert (await patch(client, made["id"], {"enabled": True}))["disabled"] is None  # enabling twice is fine


async def test_patch_changes_url_and_filters_and_refuses_what_it_cannot_do(
    notify_client: Any, receiver: WebhookReceiver,
) -> None:
    """A new URL gets the next deliveries, filters apply at once; bad or empty changes are 422,
    unknown ids 404, scoped keys 403, and the secret is never in the answer."""
    client = notify_client
    await create_match(client)
    made = await register(client, receiver, events=["goal"])
    other = await WebhookReceiver().start()
    try:
        other.secret = receiver.secret
        changed = await patch(client, made["id"], {"url": other.url, "events": ["period_start", "goal"],
                                                   "description": "moved"})
        assert changed["url"] == other.url and changed["events"] == ["goal", "period_start"]
        assert changed["description"] == "moved" and "secret" not in changed
        await post_events(client, "arg-fra", [{"type": "period_start"}, {"type": "goal", "team": "home"}])
        await other.wait_for(lambda: len(other.received) == 2)
        assert other.seqs("arg-fra") == [1, 2] and receiver.received == [] and other.bad_signatures == 0
    finally:
        await other.stop()
    assert "_schema" in (await patch(client, made["id"], {}, status=422))["error"]["fields"]
    assert "events" in (await patch(client, made["id"], {"events": ["party"]}, status=422))["error"]["fields"]
    assert "url" in (await patch(client, made["id"], {"url": "ftp://x"}, status=422))["error"]["fields"]
    assert (await patch(client, "nope", {"enabled": True}, status=404))["error"]["code"] == "not_found"
    await patch(client, made["id"], {"enabled": True}, status=403, Authorization=f"Bearer {SCOPED_KEY}")


async def test_a_rotated_secret_signs_beside_the_old_one_until_that_expires(
    notify_client: Any, receiver: WebhookReceiver,
) -> None:
    """After a rotation each delivery carries a v1 for the new secret and one for the old, so a
    receiver on either accepts it; rotating with previous_valid_for=0 drops the old at once."""
    client = notify_client
    await create_match(client)
    made = await register(client, receiver)
    old = made["secret"]
    response = await client.post(f"/api/webhooks/{made['id']}/rotate-secret", headers=AUTH)
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    rotated = await response.json()
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old and rotated["previous_secret_expires_at"]
    assert "secret" not in await view_of(client, made["id"])

    await post_events(client, "arg-fra", {"type": "period_start"})  # the receiver still has the old secret
    await receiver.wait_for(lambda: len(receiver.received) == 1)
    first = receiver.received[0]
    assert first.signature.count("v1=") == 2
    assert verify(old, first.raw, first.signature) and verify(new, first.raw, first.signature)

    receiver.secret = new
    response = await client.post(f"/api/webhooks/{made['id']}/rotate-secret", json={"previous_valid_for": 0},
                                 headers=AUTH)
    newest = (await response.json())["secret"]
    assert (await view_of(client, made["id"]))["previous_secret_expires_at"] is None
    receiver.secret = newest
    await post_events(client, "arg-fra", {"type": "goal", "team": "home"})
    await receiver.wait_for(lambda: len(receiver.received) == 2)
    second = receiver.received[1]
    assert second.signature.count("v1=") == 1 and not verify(new, second.raw, second.signature)
    bad = await client.post(f"/api/webhooks/{made['id']}/rotate-secret", json={"previous_valid_for": -1},
                            headers=AUTH)
    assert bad.status == 422 and "previous_valid_for" in (await bad.json())["error"]["fields"]
