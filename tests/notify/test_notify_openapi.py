"""The notification API's answers fit the shapes the OpenAPI document gives them."""
from __future__ import annotations

from typing import Any

from push_service import PushService
from scoreboard.web.api.openapi import build_spec
from support import AUTH, create_match, post_events

from ops.test_openapi import response_validator


async def test_push_and_webhook_answers_fit_the_document(notify_client: Any, push_service: PushService) -> None:
    """Key, subscription (made, read, changed), webhook (made, listed, read, deliveries, changed,
    rotated) answers validate."""
    client = notify_client
    spec = build_spec()

    def fits(path: str, method: str, status: int, body: Any) -> None:
        validator = response_validator(spec, path, method, status)
        assert validator.is_valid(body), (path, method, [str(e) for e in validator.iter_errors(body)])

    fits("/api/push/key", "get", 200, await (await client.get("/api/push/key")).json())
    await create_match(client)
    made = await client.post("/api/push/subscriptions", json={
        "subscription": push_service.browser("b").subscription(), "matches": ["arg-fra"]})
    created = await made.json()
    fits("/api/push/subscriptions", "post", 201, created)
    one = "/api/push/subscriptions/{subscription_id}"
    mine = {"Authorization": f"Bearer {created['token']}"}
    url = f"/api/push/subscriptions/{created['id']}"
    fits(one, "get", 200, await (await client.get(url, headers=mine)).json())
    fits(one, "put", 200, await (await client.put(url, json={"teams": ["France"]}, headers=mine)).json())
    fits(one, "get", 404, await (await client.get("/api/push/subscriptions/nope", headers=mine)).json())

    hook = await (await client.post("/api/webhooks", json={"url": push_service.url + "/hook"}, headers=AUTH)).json()
    fits("/api/webhooks", "post", 201, hook)
    fits("/api/webhooks", "get", 200, await (await client.get("/api/webhooks", headers=AUTH)).json())
    fits("/api/webhooks/{webhook_id}", "get", 200, await (await client.get(f"/api/webhooks/{hook['id']}", headers=AUTH)).json())
    await post_events(client, "arg-fra", {"type": "period_start"})
    listing = "/api/webhooks/{webhook_id}/deliveries"
    fits(listing, "get", 200, await (await client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=AUTH)).json())
    one_hook = f"/api/webhooks/{hook['id']}"
    fits("/api/webhooks/{webhook_id}", "patch", 200,
         await (await client.patch(one_hook, json={"enabled": False}, headers=AUTH)).json())
    fits("/api/webhooks/{webhook_id}", "patch", 422, await (await client.patch(one_hook, json={}, headers=AUTH)).json())
    rotated = await client.post(f"{one_hook}/rotate-secret", json={"previous_valid_for": 60}, headers=AUTH)
    fits("/api/webhooks/{webhook_id}/rotate-secret", "post", 200, await rotated.json())
