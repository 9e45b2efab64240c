"""The notify store on Redis, so every instance sees the same subscriptions, endpoints and key.

Keys (P = settings.redis_prefix + "notify:"):
  P vapid                 string: the VAPID private key (PEM), set once with SET NX
  P subs                  hash: subscription id -> JSON
  P sub-endpoints         hash: endpoint URL -> subscription id (one subscription per browser)
  P sub-match:<match id>  set of subscription ids naming the match
  P sub-team:<team key>   set of subscription ids following the team
  P sub-clients           hash: client hash -> subscriptions made from there (push_max_per_client)
  P hooks                 hash: endpoint id -> JSON
  P hook-queue:<id>       list: queued deliveries (JSON), head first
  P hook-marks:<id>       hash: match id -> newest seq ever queued (no event queued twice)
  P hook-attempts:<id>    list: recent attempts (JSON), newest first, trimmed to ATTEMPTS_KEPT
Only the instance holding the notifier lease (feed.py) reads and pops the queues.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from redis.asyncio import Redis

from ...settings import Settings
from ..models import PushSubscription, QueuedDelivery, WebhookEndpoint, team_key
from .base import ATTEMPTS_KEPT, Expired, SubscriptionCaps

# Queue a delivery unless a newer or equal seq of its match was queued before for the endpoint:
# the feed may hand an event over again after a crash, and a re-queued old event would
# arrive after newer ones.
ENQUEUE = """
local mark = tonumber(redis.call('hget', KEYS[2], ARGV[1]) or '0')
if mark >= tonumber(ARGV[2]) then return 0 end
redis.call('hset', KEYS[2], ARGV[1], ARGV[2])
return redis.call('rpush', KEYS[1], ARGV[3])
"""
# Pop deliveries queued before ARGV[1] off the head of an outbox (it is in queueing order), at
# most ARGV[2] per call so one call never holds Redis long; returns {count, first, last}.
EXPIRE = """
local count, first, last = 0, false, false
while count < tonumber(ARGV[2]) do
  local head = redis.call('lindex', KEYS[1], 0)
  if not head or cjson.decode(head)['first_at'] >= tonumber(ARGV[1]) then break end
  redis.call('lpop', KEYS[1])
  count = count + 1
  first = first or head
  last = head
end
return {count, first or '', last or ''}
"""
EXPIRE_BATCH = 500
# One subscription fewer for a client; its field goes when none is left.
UNCOUNT = """
if redis.call('hincrby', KEYS[1], ARGV[1], -1) <= 0 then redis.call('hdel', KEYS[1], ARGV[1]) end
"""
CHUNK = 1000  # subscriptions fetched per HMGET: bounds how long one reply holds the loop


class RedisNotifyStore:
    def __init__(self, url: str, *, prefix: str = "sb:", timeout: float = 2.0, tls_insecure: bool = False) -> None:
        self._url = url
        self.prefix = prefix + "notify:"
        self._timeout = timeout
        self._tls_insecure = tls_insecure
        self._redis: Redis | None = None

    def __repr__(self) -> str:
        return "redis"

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisNotifyStore:
        return cls(settings.redis_url, prefix=settings.redis_prefix, timeout=settings.redis_timeout,
                   tls_insecure=settings.redis_tls_insecure)

    def client(self, socket_timeout: float | None = None) -> Redis:
        """A new client with the store's options (the feed needs its own for blocking reads)."""
        options: dict[str, Any] = {
            "decode_responses": True, "socket_timeout": socket_timeout or self._timeout,
            "socket_connect_timeout": self._timeout,
        }
        if self._url.startswith("rediss://") and self._tls_insecure:
            options["ssl_cert_reqs"] = None
        return Redis.from_url(self._url, **options)

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("the notify store is not open")
        return self._redis

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def open(self) -> None:
        self._redis = self.client()

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def vapid_key(self, make: Callable[[], str]) -> tuple[str, bool]:
        candidate = make()
        created = await self.redis.set(self.key("vapid"), candidate, nx=True)
        if created:
            return candidate, True
        stored = await self.redis.get(self.key("vapid"))
        return str(stored), False

    # -- push subscriptions ------------------------------------------------------------------

    async def put_subscription(self, subscription: PushSubscription, caps: SubscriptionCaps | None = None) -> None:
        old_ids = {subscription.id}
        same_endpoint = await self.redis.hget(self.key("sub-endpoints"), subscription.endpoint)
        if same_endpoint:
            old_ids.add(str(same_endpoint))
        old = await self._fetch(sorted(old_ids))
        if caps is not None and not old:
            counts = self.redis.pipeline(transaction=False)
            counts.hlen(self.key("subs"))
            counts.hget(self.key("sub-clients"), subscription.client or "-")
            total, of_client = await counts.execute()
            caps.check(int(total), int(of_client or 0), subscription.client)
        pipe = self.redis.pipeline(transaction=True)
        for previous in old:
            self._unindex(pipe, previous)
        pipe.hset(self.key("subs"), subscription.id, subscription.to_json())
        pipe.hset(self.key("sub-endpoints"), subscription.endpoint, subscription.id)
        if subscription.client:
            pipe.hincrby(self.key("sub-clients"), subscription.client, 1)
        for match_id in subscription.matches:
            pipe.sadd(self.key("sub-match", match_id), subscription.id)
        for team in subscription.teams:
            pipe.sadd(self.key("sub-team", team_key(team)), subscription.id)
        await pipe.execute()

    async def get_subscription(self, subscription_id: str) -> PushSubscription | None:
        found = await self._fetch([subscription_id])
        return found[0] if found else None

    async def delete_subscriptions(self, subscription_ids: Iterable[str]) -> int:
        found = await self._fetch(sorted(set(subscription_ids)))
        if not found:
            return 0
        pipe = self.redis.pipeline(transaction=True)
        for subscription in found:
            self._unindex(pipe, subscription)
        await pipe.execute()
        return len(found)

    async def delete_gone(self, gone: Iterable[tuple[str, str]]) -> int:
        endpoints = dict(gone)
        found = await self._fetch(sorted(endpoints))
        # A subscription renewed in between (a new endpoint) stays; the race with a renewal
        # landing after this read is as narrow as one round trip.
        return await self.delete_subscriptions(s.id for s in found if s.endpoint == endpoints[s.id])

    async def subscriptions_for(
        self, match_id: str, home: str, away: str, private: bool, kind: str,
    ) -> list[PushSubscription]:
        sets = [self.key("sub-match", match_id)]
        if not private:
            sets += [self.key("sub-team", team_key(home)), self.key("sub-team", team_key(away))]
        ids = sorted(str(i) for i in await self.redis.sunion(sets))
        found = await self._fetch(ids)
        return [s for s in found if s.wants(match_id, home, away, private, kind)]

    async def count_subscriptions(self) -> int:
        return int(await self.redis.hlen(self.key("subs")))

    async def count_for_client(self, client: str) -> int:
        return int(await self.redis.hget(self.key("sub-clients"), client) or 0)

    async def _fetch(self, ids: list[str]) -> list[PushSubscription]:
        found: list[PushSubscription] = []
        for start in range(0, len(ids), CHUNK):
            rows = await self.redis.hmget(self.key("subs"), ids[start:start + CHUNK])
            found.extend(PushSubscription.from_json(row) for row in rows if row)
        return found

    def _unindex(self, pipe: Any, subscription: PushSubscription) -> None:
        pipe.hdel(self.key("subs"), subscription.id)
        # Each endpoint belongs to one subscription (put_subscription removes any other), and
        # within put_subscription's transaction the new owner's entry is written after this.
        pipe.hdel(self.key("sub-endpoints"), subscription.endpoint)
        if subscription.client:
            pipe.eval(UNCOUNT, 1, self.key("sub-clients"), subscription.client)
        for match_id in subscription.matches:
            pipe.srem(self.key("sub-match", match_id), subscription.id)
        for team in subscription.teams:
            pipe.srem(self.key("sub-team", team_key(team)), subscription.id)

    # -- webhook endpoints -------------------------------------------------------------------

    async def put_endpoint(self, endpoint: WebhookEndpoint) -> None:
        await self.redis.hset(self.key("hooks"), endpoint.id, endpoint.to_json())

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        raw = await self.redis.hget(self.key("hooks"), endpoint_id)
        return WebhookEndpoint.from_json(raw) if raw else None

    async def update_endpoint(
        self, endpoint_id: str, change: Callable[[WebhookEndpoint], WebhookEndpoint],
    ) -> WebhookEndpoint | None:
        hooks = self.key("hooks")

        async def run(pipe: Any) -> WebhookEndpoint | None:
            raw = await pipe.hget(hooks, endpoint_id)
            if not raw:
                return None
            updated = change(WebhookEndpoint.from_json(raw))
            pipe.multi()
            pipe.hset(hooks, endpoint_id, updated.to_json())
            return updated

        # WATCH the hash: a write to it in between (another instance) runs `change` again.
        result: WebhookEndpoint | None = await self.redis.transaction(run, hooks, value_from_callable=True)
        return result

    async def list_endpoints(self) -> list[WebhookEndpoint]:
        rows = await self.redis.hvals(self.key("hooks"))
        return sorted((WebhookEndpoint.from_json(r) for r in rows), key=lambda e: (e.created_at, e.id))

    async def delete_endpoint(self, endpoint_id: str) -> bool:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self.key("hooks"), endpoint_id)
        pipe.delete(self.key("hook-queue", endpoint_id), self.key("hook-attempts", endpoint_id),
                    self.key("hook-marks", endpoint_id))
        deleted, _ = await pipe.execute()
        return bool(deleted)

    # -- webhook queues ----------------------------------------------------------------------

    async def enqueue(self, deliveries: list[QueuedDelivery]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for d in deliveries:
            pipe.eval(ENQUEUE, 2, self.key("hook-queue", d.endpoint_id), self.key("hook-marks", d.endpoint_id),
                      d.match_id, d.seq, d.to_json())
        await pipe.execute()

    async def queue_head(self, endpoint_id: str) -> QueuedDelivery | None:
        raw = await self.redis.lindex(self.key("hook-queue", endpoint_id), 0)
        return QueuedDelivery.from_json(raw) if raw else None

    async def queue_pop(self, delivery: QueuedDelivery) -> None:
        await self.redis.lpop(self.key("hook-queue", delivery.endpoint_id))

    async def queue_retry(self, delivery: QueuedDelivery) -> None:
        await self.redis.lset(self.key("hook-queue", delivery.endpoint_id), 0, delivery.to_json())

    async def queue_clear(self, endpoint_id: str) -> None:
        await self.redis.delete(self.key("hook-queue", endpoint_id))

    async def queue_expire(self, endpoint_id: str, before: float) -> Expired:
        count, first, last = 0, None, None
        while True:
            popped, head, tail = await self.redis.eval(
                EXPIRE, 1, self.key("hook-queue", endpoint_id), repr(before), EXPIRE_BATCH)
            if popped:
                count += int(popped)
                first = first or QueuedDelivery.from_json(head)
                last = QueuedDelivery.from_json(tail)
            if int(popped) < EXPIRE_BATCH:
                return Expired(count, first, last)

    async def queue_length(self, endpoint_id: str) -> int:
        return int(await self.redis.llen(self.key("hook-queue", endpoint_id)))

    async def endpoints_with_queue(self) -> list[str]:
        ids = [str(i) for i in await self.redis.hkeys(self.key("hooks"))]
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for endpoint_id in ids:
            pipe.llen(self.key("hook-queue", endpoint_id))
        lengths = await pipe.execute()
        return [endpoint_id for endpoint_id, length in zip(ids, lengths) if length]

    async def add_attempt(self, endpoint_id: str, attempt: dict[str, Any]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.lpush(self.key("hook-attempts", endpoint_id), json.dumps(attempt))
        pipe.ltrim(self.key("hook-attempts", endpoint_id), 0, ATTEMPTS_KEPT - 1)
        await pipe.execute()

    async def attempts(self, endpoint_id: str, limit: int = ATTEMPTS_KEPT) -> list[dict[str, Any]]:
        rows = await self.redis.lrange(self.key("hook-attempts", endpoint_id), 0, limit - 1)
        return [json.loads(r) for r in rows]
