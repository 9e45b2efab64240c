"""The notify store protocol: push subscriptions, webhook endpoints and queues, the VAPID key.

`sqlite.SqliteNotifyStore` (embedded default, a file beside the event store's) and
`redis.RedisNotifyStore` implement it side by side. The durable event cursor is not here:
it belongs to each backend's feed (`notify.feed`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..models import PushSubscription, QueuedDelivery, WebhookEndpoint

# Delivery attempts kept per endpoint for GET /api/webhooks/{id}/deliveries.
ATTEMPTS_KEPT = 100


class NotifyStore(Protocol):
    async def open(self) -> None:
        """Connect and create what is missing."""

    async def close(self) -> None:
        """Finish pending writes and release connections."""

    async def vapid_key(self, make: Callable[[], str]) -> tuple[str, bool]:
        """The stored VAPID private key (PEM), made with `make()` and stored if there is none
        yet; True when this call made it. Safe against two instances starting at once."""

    # -- push subscriptions ------------------------------------------------------------------

    async def put_subscription(self, subscription: PushSubscription) -> None:
        """Insert or replace by id; any other subscription with the same endpoint is removed
        (a browser has one subscription per site: a new one supersedes the old)."""

    async def get_subscription(self, subscription_id: str) -> PushSubscription | None:
        ...

    async def delete_subscriptions(self, subscription_ids: Iterable[str]) -> int:
        """Delete these; returns how many existed."""

    async def subscriptions_for(
        self, match_id: str, home: str, away: str, private: bool, kind: str,
    ) -> list[PushSubscription]:
        """Every subscription that wants an alert of `kind` in this match (PushSubscription.wants)."""

    async def count_subscriptions(self) -> int:
        ...

    # -- webhook endpoints -------------------------------------------------------------------

    async def put_endpoint(self, endpoint: WebhookEndpoint) -> None:
        ...

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        ...

    async def list_endpoints(self) -> list[WebhookEndpoint]:
        """Every endpoint, oldest first."""

    async def delete_endpoint(self, endpoint_id: str) -> bool:
        """Delete it with its queue and attempts; False when it did not exist."""

    # -- webhook queues (in order per endpoint) ----------------------------------------------

    async def enqueue(self, deliveries: list[QueuedDelivery]) -> None:
        """Append to each delivery's endpoint queue, atomically for the batch."""

    async def queue_head(self, endpoint_id: str) -> QueuedDelivery | None:
        ...

    async def queue_pop(self, delivery: QueuedDelivery) -> None:
        """Remove `delivery`, the head of its queue."""

    async def queue_retry(self, delivery: QueuedDelivery) -> None:
        """Replace the head with `delivery` (its attempts and next_at updated)."""

    async def queue_clear(self, endpoint_id: str) -> None:
        ...

    async def queue_length(self, endpoint_id: str) -> int:
        ...

    async def endpoints_with_queue(self) -> list[str]:
        """Ids of the endpoints whose queue is not empty (to resume after a restart)."""

    async def add_attempt(self, endpoint_id: str, attempt: dict[str, Any]) -> None:
        """Record one delivery attempt; only the last ATTEMPTS_KEPT are kept."""

    async def attempts(self, endpoint_id: str, limit: int = ATTEMPTS_KEPT) -> list[dict[str, Any]]:
        """Recent attempts, newest first."""
