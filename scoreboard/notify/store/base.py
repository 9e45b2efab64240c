"""The notify store protocol: push subscriptions, webhook endpoints and queues, the VAPID key.

`sqlite.SqliteNotifyStore` (embedded default, a file beside the event store's) and
`redis.RedisNotifyStore` implement it side by side. The durable event cursor is not here:
it belongs to each backend's feed (`notify.feed`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import SubscriptionsFull, TooManySubscriptions
from ..models import PushSubscription, QueuedDelivery, WebhookEndpoint

# Delivery attempts kept per endpoint for GET /api/webhooks/{id}/deliveries.
ATTEMPTS_KEPT = 100


@dataclass(frozen=True)
class Expired:
    """Deliveries an outbox dropped as too old: how many, and the first and last of them."""

    count: int = 0
    first: QueuedDelivery | None = None
    last: QueuedDelivery | None = None


@dataclass(frozen=True)
class SubscriptionCaps:
    """How many push subscriptions may exist: in all, and made from one client (0: no cap)."""

    total: int = 0
    per_client: int = 0

    def check(self, total: int, of_client: int, client: str) -> None:
        """Raise when one more subscription would pass a cap, given the counts now."""
        if self.total and total >= self.total:
            raise SubscriptionsFull(
                f"the service keeps at most {self.total} push subscriptions and is full; try again later")
        if self.per_client and client and of_client >= self.per_client:
            raise TooManySubscriptions(
                f"{self.per_client} push subscriptions were made from this network address, the most "
                "it may hold; delete those no longer used (DELETE /api/push/subscriptions/{id})")


class NotifyStore(Protocol):
    async def open(self) -> None:
        """Connect and create what is missing."""

    async def close(self) -> None:
        """Finish pending writes and release connections."""

    async def vapid_key(self, make: Callable[[], str]) -> tuple[str, bool]:
        """The stored VAPID private key (PEM), made with `make()` and stored if there is none
        yet; True when this call made it. Safe against two instances starting at once."""

    # -- push subscriptions ------------------------------------------------------------------

    async def put_subscription(self, subscription: PushSubscription, caps: SubscriptionCaps | None = None) -> None:
        """Insert or replace by id; any other subscription with the same endpoint is removed
        (a browser has one subscription per site: a new one supersedes the old).

        With `caps`, a subscription that adds to the count (its id and endpoint both new) is
        refused with SubscriptionsFull or TooManySubscriptions when a cap is reached; one that
        replaces another never is. On SQLite the caps are exact; on Redis requests racing on
        several instances may pass a cap by the few in flight at once.
        """

    async def get_subscription(self, subscription_id: str) -> PushSubscription | None:
        ...

    async def delete_subscriptions(self, subscription_ids: Iterable[str]) -> int:
        """Delete these; returns how many existed."""

    async def delete_gone(self, gone: Iterable[tuple[str, str]]) -> int:
        """Delete each (subscription id, endpoint) the push service said is gone, unless the
        subscription has a new endpoint by now (the browser renewed it while a push to the old
        one was under way); returns how many were deleted."""

    async def subscriptions_for(
        self, match_id: str, home: str, away: str, private: bool, kind: str,
    ) -> list[PushSubscription]:
        """Every subscription that wants an alert of `kind` in this match (PushSubscription.wants)."""

    async def count_subscriptions(self) -> int:
        ...

    async def count_for_client(self, client: str) -> int:
        """Subscriptions made from this client (its PushSubscription.client hash)."""

    # -- webhook endpoints -------------------------------------------------------------------

    async def put_endpoint(self, endpoint: WebhookEndpoint) -> None:
        ...

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        ...

    async def update_endpoint(
        self, endpoint_id: str, change: Callable[[WebhookEndpoint], WebhookEndpoint],
    ) -> WebhookEndpoint | None:
        """Store `change(current)` in place of the endpoint, atomically (a change made at the
        same time elsewhere, e.g. the deliverer disabling it, is not lost); the stored result,
        or None when there is no such endpoint."""

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

    async def queue_expire(self, endpoint_id: str, before: float) -> Expired:
        """Drop the deliveries queued (first_at) before the Unix time `before`."""

    async def queue_length(self, endpoint_id: str) -> int:
        ...

    async def endpoints_with_queue(self) -> list[str]:
        """Ids of the endpoints whose queue is not empty (to resume after a restart)."""

    async def add_attempt(self, endpoint_id: str, attempt: dict[str, Any]) -> None:
        """Record one delivery attempt; only the last ATTEMPTS_KEPT are kept."""

    async def attempts(self, endpoint_id: str, limit: int = ATTEMPTS_KEPT) -> list[dict[str, Any]]:
        """Recent attempts, newest first."""
