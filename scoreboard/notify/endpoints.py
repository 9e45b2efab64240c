"""Webhook endpoints as their operators manage them: register, list, change (pause, resume,
point elsewhere), rotate the secret, delete, look at deliveries. What the web edge calls
(web/api/webhooks.py) through `NotifyService.webhooks`; delivering is webhooks.py's job.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .errors import NotFound, guarded
from .guard import OutboundGuard, check_target
from .models import WebhookEndpoint, new_id, new_token
from .store.base import NotifyStore
from .webhooks import WebhookDeliverer

log = logging.getLogger(__name__)
WEBHOOK_SECRET_PREFIX = "whsec"


class WebhookEndpoints:
    def __init__(self, store: NotifyStore, guard: OutboundGuard, deliverer: WebhookDeliverer,
                 changed: Callable[[], None]) -> None:
        self._store = store
        self._guard = guard
        self._deliverer = deliverer
        self._changed = changed  # tells the notifier to read the endpoints again

    async def create(self, data: dict[str, Any]) -> WebhookEndpoint:
        await check_target(self._guard, data["url"], ("url",))
        endpoint = WebhookEndpoint(
            id=new_id(), url=data["url"], secret=new_token(WEBHOOK_SECRET_PREFIX),
            events=frozenset(data["events"]), matches=frozenset(data["matches"]),
            description=data.get("description", ""),
        )
        await guarded(self._store.put_endpoint(endpoint))
        self._changed()
        return endpoint

    async def every(self) -> list[WebhookEndpoint]:
        """Every endpoint, oldest first."""
        return await guarded(self._store.list_endpoints())

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        found = await guarded(self._store.get_endpoint(endpoint_id))
        if found is None:
            raise NotFound(f"no webhook endpoint {endpoint_id!r}")
        return found

    async def update(self, endpoint_id: str, data: dict[str, Any]) -> WebhookEndpoint:
        """Change what `data` names (url, events, matches, description, enabled).

        Enabling a disabled endpoint resumes its outbox: what was queued within
        webhook_max_age is sent in order, the older part is dropped (an "expired" attempt).
        Disabling keeps the outbox filling, as when the deliverer gives up.
        """
        if "url" in data:
            await check_target(self._guard, data["url"], ("url",))
        current = await self.get(endpoint_id)
        enabling = data.get("enabled") is True and current.disabled_at is not None
        if enabling:
            await guarded(self._deliverer.resume(endpoint_id))

        def change(endpoint: WebhookEndpoint) -> WebhookEndpoint:
            fields: dict[str, Any] = {name: data[name] for name in ("url", "description") if name in data}
            fields.update({name: frozenset(data[name]) for name in ("events", "matches") if name in data})
            endpoint = replace(endpoint, **fields)
            if data.get("enabled") is True:
                return endpoint.enabled()
            if data.get("enabled") is False and endpoint.disabled_at is None:
                return endpoint.disabled("disabled through the API (PATCH enabled=false)")
            return endpoint

        updated = await guarded(self._store.update_endpoint(endpoint_id, change))
        if updated is None:
            raise NotFound(f"no webhook endpoint {endpoint_id!r}")
        self._changed()
        if updated.disabled_at is None:
            self._deliverer.wake(endpoint_id)  # here if this instance delivers; else its sweep
        return updated

    async def rotate_secret(self, endpoint_id: str, previous_valid_for: float) -> WebhookEndpoint:
        """A new secret; the current one also signs for `previous_valid_for` seconds (0: stops now)."""
        secret = new_token(WEBHOOK_SECRET_PREFIX)
        updated = await guarded(self._store.update_endpoint(
            endpoint_id, lambda endpoint: endpoint.rotated(secret, previous_valid_for, time.time())))
        if updated is None:
            raise NotFound(f"no webhook endpoint {endpoint_id!r}")
        log.info("webhook endpoint %s: secret rotated (the previous one signs for %g s more)",
                 endpoint_id, previous_valid_for)
        return updated

    async def delete(self, endpoint_id: str) -> None:
        if not await guarded(self._store.delete_endpoint(endpoint_id)):
            raise NotFound(f"no webhook endpoint {endpoint_id!r}")
        self._changed()

    async def deliveries(self, endpoint_id: str) -> dict[str, Any]:
        endpoint = await self.get(endpoint_id)
        attempts = await guarded(self._store.attempts(endpoint_id))
        pending = await guarded(self._store.queue_length(endpoint_id))
        return {"endpoint": endpoint.view(), "pending": pending, "deliveries": attempts}
