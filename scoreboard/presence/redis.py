"""Presence in Redis: every instance's fans per match, summed over the live instances.

Keys (P = settings.redis_prefix):
  P watching:instances      sorted set: instance id -> ms (Redis's clock) of its last exchange
  P watching:fans:<id>      hash: match id -> that instance's fans on it; expires after the TTL

One script per exchange (one round trip, atomic): replace this instance's hash, refresh its
entry, drop entries older than the TTL, and sum the hashes of the others still listed. The
registry spares a SCAN of the keyspace; the TTL, on both, makes a crashed instance's fans
stop counting within it. Scores use Redis's clock, so skew between hosts does not matter.
Cost per exchange: the matches watched on every live instance, read inside Redis.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..settings import Settings
from .base import PresenceUnavailable

log = logging.getLogger(__name__)

# Exchanges an instance may miss before its fans stop counting.
MISSED_EXCHANGES = 3
MIN_TTL_SECONDS = 2.0  # below this a busy loop's late tick would drop a live instance

# KEYS[1]: the registry, KEYS[2]: this instance's hash. ARGV[1]: this instance, ARGV[2]: TTL
# ms, ARGV[3]: prefix of the instances' hashes, then match id, count pairs.
EXCHANGE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('DEL', KEYS[2])
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
if #ARGV > 3 then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
local totals, order = {}, {}
for _, other in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if other ~= ARGV[1] then
    local fields = redis.call('HGETALL', ARGV[3] .. other)
    for i = 1, #fields, 2 do
      local match = fields[i]
      if totals[match] == nil then
        totals[match] = 0
        order[#order + 1] = match
      end
      totals[match] = totals[match] + tonumber(fields[i + 1])
    end
  end
end
local reply = {}
for _, match in ipairs(order) do
  reply[#reply + 1] = match
  reply[#reply + 1] = totals[match]
end
return reply
"""


class RedisPresence:
    """Presence shared through Redis; see the module docstring for the keys."""

    def __init__(self, redis: Redis, prefix: str, ttl: float, timeout: float) -> None:
        self._redis = redis
        self.instance = uuid.uuid4().hex[:16]
        self._registry = f"{prefix}watching:instances"
        self._fans_prefix = f"{prefix}watching:fans:"
        self._ttl_ms = round(ttl * 1000)
        self._timeout = timeout
        self._exchange = redis.register_script(EXCHANGE)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisPresence:
        options: dict[str, Any] = {
            "decode_responses": True, "socket_timeout": settings.redis_timeout,
            "socket_connect_timeout": settings.redis_timeout,
        }
        if settings.redis_url.startswith("rediss://") and settings.redis_tls_insecure:
            options["ssl_cert_reqs"] = None  # hosted Redis offers a self-signed certificate
        ttl = max(MISSED_EXCHANGES * settings.watching_interval, MIN_TTL_SECONDS)
        return cls(Redis.from_url(settings.redis_url, **options), settings.redis_prefix, ttl,
                   settings.redis_timeout)

    async def open(self) -> None:
        pass  # the first exchange connects; Redis being down then is one missed exchange

    async def close(self) -> None:
        """Leave the registry and take this instance's counts away, then disconnect."""
        with contextlib.suppress(RedisError, OSError, asyncio.TimeoutError):
            pipe = self._redis.pipeline(transaction=True)
            pipe.zrem(self._registry, self.instance)
            pipe.delete(self._own_key())
            await asyncio.wait_for(pipe.execute(), self._timeout)
        await self._redis.aclose()

    async def exchange(self, local: Mapping[str, int]) -> dict[str, int]:
        args: list[str | int] = [self.instance, self._ttl_ms, self._fans_prefix]
        for match_id, count in local.items():
            if count > 0:
                args += [match_id, count]
        try:
            reply = await asyncio.wait_for(
                self._exchange(keys=[self._registry, self._own_key()], args=args), self._timeout,
            )
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            raise PresenceUnavailable(str(exc) or type(exc).__name__) from exc
        return {str(reply[i]): int(reply[i + 1]) for i in range(0, len(reply), 2) if int(reply[i + 1]) > 0}

    def _own_key(self) -> str:
        return self._fans_prefix + self.instance
