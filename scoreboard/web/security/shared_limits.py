"""In Redis mode, `ingest_rate` and `max_connections_per_client` hold for the whole service,
not per process: 3 dynos x 2 workers must not allow six times the configured rate.

- Ingest rate: the `limits` library's moving window on Redis (its own Lua script, atomic in
  Redis), through our redis.asyncio client's connection pool. A key may post `ingest_burst`
  events in any `ingest_burst / ingest_rate` seconds (whole seconds): `ingest_rate` per
  second sustained, `ingest_burst` at once, counted over every instance. Request rates per
  client address (`ClientRateLimiter`, e.g. push subscriptions) use the same windows.
- Connections per client address: not a rate, so not something `limits` counts. A small Lua
  script keeps, per address, a hash of instance id -> its open connections from there, and
  admits a new one only while the sum over live instances is under the limit. An instance
  proves it is alive with a key it refreshes every HEARTBEAT seconds; the connections of one
  that died (its key expired) stop counting, so a crash never locks an address out.

If Redis cannot be reached, each instance falls back to its own count (the limits then hold
per process, as without Redis) and corrects Redis from its own truth once Redis is back.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ...settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT = 10.0  # seconds between this instance's liveness refreshes (and count repairs)
INSTANCE_TTL = 30  # seconds without a refresh after which an instance's connections stop counting
ADDRESS_TTL = 24 * 3600  # an address's hash outlives its last connection by this much at most
CHECK_TIMEOUT = 0.5  # seconds a limit check may wait on Redis before the local count decides

# KEYS[1]: the address's hash. ARGV: this instance, the limit, the instance-key prefix, TTL.
ACQUIRE = """
local total = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local instance, count = fields[i], tonumber(fields[i + 1])
  if instance == ARGV[1] or redis.call('EXISTS', ARGV[3] .. instance) == 1 then
    total = total + count
  else
    redis.call('HDEL', KEYS[1], instance)
  end
end
if total >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
RELEASE = """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return left
"""


def window_item(rate: float, burst: int) -> RateLimitItem:
    """`burst` hits per `burst / rate` seconds (whole seconds, at least one): `rate` per second
    sustained, `burst` at once."""
    window = max(1, round(burst / rate)) if rate else 1
    return RateLimitItemPerSecond(burst, window)


class SharedLimits:
    """The Redis side of IngestLimiter and ClientConnections (limits.py) for one instance."""

    def __init__(self, settings: Settings) -> None:
        options: dict[str, Any] = {
            "decode_responses": True, "socket_timeout": settings.redis_timeout,
            "socket_connect_timeout": settings.redis_timeout,
        }
        if settings.redis_url.startswith("rediss://") and settings.redis_tls_insecure:
            options["ssl_cert_reqs"] = None
        self._redis = Redis.from_url(settings.redis_url, **options)
        self._prefix = f"{settings.redis_prefix}limits:"
        # The library's scripts run through our client's pool: one set of connections, our
        # timeouts and TLS options.
        storage = RedisStorage(
            f"async+{settings.redis_url}", implementation="redispy", key_prefix=f"{self._prefix}rate",
            connection_pool=self._redis.connection_pool,  # type: ignore[arg-type]  # documented option
        )
        self._rate = MovingWindowRateLimiter(storage)
        self._item = window_item(settings.ingest_rate, settings.ingest_burst)
        self.burst = settings.ingest_burst
        self.instance = uuid.uuid4().hex[:16]
        self._items: dict[tuple[float, int], RateLimitItem] = {}  # (rate, burst) -> its window
        self._acquire = self._redis.register_script(ACQUIRE)
        self._release = self._redis.register_script(RELEASE)
        self._local: dict[str, int] = {}  # address -> this instance's open connections from it
        self._dirty: set[str] = set()  # addresses whose Redis count may be wrong (a failed call)
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._keep_alive(), name="shared limits heartbeat")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(RedisError, OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self._redis.delete(self._instance_key()), CHECK_TIMEOUT)
        await self._redis.aclose()

    # -- ingest rate -------------------------------------------------------------------------

    async def charge(self, key_id: str, cost: int) -> float:
        """Take `cost` events from the key's window: 0.0, or the seconds to wait when full."""
        return await self._hit(self._item, cost, key_id)

    async def hit_window(self, name: str, key: str, rate: float, burst: int) -> float:
        """One request of kind `name` from `key` (a client address) against a window of `burst`
        requests per `burst / rate` seconds: 0.0, or the seconds to wait when full."""
        item = self._items.get((rate, burst))
        if item is None:
            item = self._items[(rate, burst)] = window_item(rate, burst)
        return await self._hit(item, 1, name, key)

    async def _hit(self, item: RateLimitItem, cost: int, *identifiers: str) -> float:
        try:
            allowed = await asyncio.wait_for(self._rate.hit(item, *identifiers, cost=cost), CHECK_TIMEOUT)
            if allowed:
                self._back()
                return 0.0
            stats = await asyncio.wait_for(self._rate.get_window_stats(item, *identifiers), CHECK_TIMEOUT)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self._down(exc)
            return 0.0  # the store answers 503 anyway while Redis is away
        self._back()
        return max(1.0, stats.reset_time - time.time())

    # -- connections per client address ------------------------------------------------------

    async def acquire(self, address: str, limit: int) -> bool:
        """Count one more connection from `address` if the service holds fewer than `limit`."""
        local = self._local.get(address, 0)
        try:
            admitted = await asyncio.wait_for(self._acquire(
                keys=[self._address_key(address)],
                args=[self.instance, limit, f"{self._prefix}instance:", ADDRESS_TTL],
            ), CHECK_TIMEOUT)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self._down(exc)
            self._dirty.add(address)
            admitted = local < limit
        else:
            self._back()
        if admitted:
            self._local[address] = local + 1
        return bool(admitted)

    async def release(self, address: str) -> None:
        count = self._local.get(address, 0) - 1
        if count > 0:
            self._local[address] = count
        else:
            self._local.pop(address, None)
        try:
            await asyncio.wait_for(
                self._release(keys=[self._address_key(address)], args=[self.instance]), CHECK_TIMEOUT,
            )
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self._down(exc)
            self._dirty.add(address)

    # -- internals ---------------------------------------------------------------------------

    async def _keep_alive(self) -> None:
        """Refresh this instance's liveness; write the true counts of addresses a failed call
        left wrong."""
        while True:
            try:
                pipe = self._redis.pipeline(transaction=False)
                pipe.set(self._instance_key(), "1", ex=INSTANCE_TTL)
                dirty, self._dirty = self._dirty, set()
                for address in dirty:
                    count = self._local.get(address, 0)
                    if count:
                        pipe.hset(self._address_key(address), self.instance, count)
                        pipe.expire(self._address_key(address), ADDRESS_TTL)
                    else:
                        pipe.hdel(self._address_key(address), self.instance)
                try:
                    await asyncio.wait_for(pipe.execute(), HEARTBEAT)
                except BaseException:
                    self._dirty |= dirty
                    raise
                self._back()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, asyncio.TimeoutError) as exc:
                self._down(exc)
            except Exception:
                log.exception("refreshing the shared limits failed")
            await asyncio.sleep(HEARTBEAT)

    def _instance_key(self) -> str:
        return f"{self._prefix}instance:{self.instance}"

    def _address_key(self, address: str) -> str:
        return f"{self._prefix}conn:{address}"

    def _down(self, exc: BaseException) -> None:
        if not self._failing:
            self._failing = True
            log.warning("shared limits: Redis unreachable (%s); counting in this process until it is back", exc)

    def _back(self) -> None:
        if self._failing:
            self._failing = False
            log.info("shared limits: Redis is back; limits hold for the whole service again")
