"""Limits that keep one client from hurting the others: live connections per address, ingest
rate per scorekeeper key. Each bound is a setting (settings.py); 0 turns it off.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable

from aiohttp import web

from ...errors import ScoreboardError


class RateLimited(ScoreboardError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # whole seconds, for the Retry-After header


class TooManyConnections(ScoreboardError):
    code = "too_many_connections"
    status = 429

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.retry_after = 10


def client_address(request: web.Request, trust_forwarded: bool) -> str:
    """Who is asking: the peer address, or behind a trusted router the address it saw.

    The router appends the address it saw to X-Forwarded-For, after whatever the client sent
    itself, so only the last entry can be believed; earlier entries are the client's claim.
    """
    if trust_forwarded:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.remote or "unknown"


class ClientConnections:
    """Open live connections per client address; at most `limit` each (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}  # client address -> open WebSocket + SSE connections

    def acquire(self, address: str) -> None:
        """Count one more connection from `address`; raises TooManyConnections."""
        if not self.limit:
            return
        count = self._open.get(address, 0)
        if count >= self.limit:
            raise TooManyConnections(f"at most {self.limit} live connections per client address")
        self._open[address] = count + 1

    def release(self, address: str) -> None:
        if not self.limit:
            return
        count = self._open.get(address, 0) - 1
        if count > 0:
            self._open[address] = count
        else:
            self._open.pop(address, None)

    def count(self, address: str) -> int:
        return self._open.get(address, 0)


class TokenBucket:
    """`rate` tokens per second up to `burst`; starts full."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self, cost: int) -> float:
        """Take `cost` tokens and return 0, or take nothing and return the seconds to wait."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= cost:
            self._tokens -= cost
            return 0.0
        return (cost - self._tokens) / self.rate


class IngestLimiter:
    """Events per second per scorekeeper key (token bucket); rate 0 turns it off.

    A batch costs one token per event, at most `burst`, so a batch as large as the burst can
    always get through once the bucket has refilled. One bucket per configured key: the map
    is bounded by the key ring, not by what clients send.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[Hashable, TokenBucket] = {}  # API key -> its bucket

    def charge(self, key: Hashable, events: int) -> None:
        """Raises RateLimited (with the seconds to wait) when the key has no room for `events`."""
        if self.rate <= 0:
            return
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self._clock)
        wait = bucket.take(min(max(events, 1), self.burst))
        if wait:
            raise RateLimited(
                f"this API key may post {self.rate:g} events per second (bursts of {self.burst}); "
                "retry after the Retry-After seconds",
                retry_after=max(1, math.ceil(wait)),
            )
