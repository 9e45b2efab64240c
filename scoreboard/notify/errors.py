"""The notify failures a client can cause; the web edge's error middleware maps them once."""
from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import RedisError

from ..errors import ScoreboardError

T = TypeVar("T")


class NotFound(ScoreboardError):
    """No push subscription or webhook endpoint with that id."""

    code = "not_found"
    status = 404


class WrongToken(ScoreboardError):
    """A subscription's management token that is missing or not its own."""

    code = "forbidden"
    status = 403


class MissingToken(ScoreboardError):
    code = "unauthorized"
    status = 401


class InvalidTarget(ScoreboardError):
    """A push endpoint or webhook URL the service will not call (form, scheme or address)."""

    code = "validation_failed"
    status = 422


class NotifyUnavailable(ScoreboardError):
    """The notify store cannot be reached (Redis down): nothing was changed."""

    code = "store_unavailable"
    status = 503


class TooManySubscriptions(ScoreboardError):
    """push_max_per_client: this client address made as many push subscriptions as it may hold."""

    code = "quota_exceeded"
    status = 429


class SubscriptionsFull(ScoreboardError):
    """push_max_subscriptions: the service keeps no more push subscriptions (not the client's
    fault, so not a 4xx: 507, as a full disk would be)."""

    code = "insufficient_storage"
    status = 507


async def guarded(operation: Awaitable[T]) -> T:
    """Await a store operation; a store that cannot be reached becomes NotifyUnavailable (503)."""
    try:
        return await operation
    except (RedisError, OSError) as exc:
        raise NotifyUnavailable("the notification store is unreachable; retry shortly") from exc
