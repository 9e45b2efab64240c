"""Limits that keep one client from hurting the others: live connections per address, ingest
rate per scorekeeper key, request rates per address (push subscriptions). Each bound is a
setting (settings.py); 0 turns it off.
"""
from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING

from aiohttp import web

from ...errors import ScoreboardError
from .auth import ApiKey

if TYPE_CHECKING:  # Redis mode only: `limits` and redis are imported only when used
    from .shared_limits import SharedLimits


def key_id(secret: bytes) -> str:
    """A stable, non-secret name for an API key in Redis (the same on every instance)."""
    import hashlib

    return hashlib.sha256(secret).hexdigest()[:24]


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
    Repeated header lines are one list, in order (RFC 9110 5.3): a router may add a line of
    its own after the client's, and the client's line must not be taken for the router's.
    """
    forwarded = request.headers.getall("X-Forwarded-For", None)
    return forwarded_client(",".join(forwarded) if forwarded else None, request.remote, trust_forwarded)


def forwarded_client(forwarded: str | None, remote: str | None, trust_forwarded: bool) -> str:
    """`client_address` from the X-Forwarded-For value and the peer address themselves (for a
    request that never became an aiohttp request: web/live/front.py)."""
    if trust_forwarded and forwarded:
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return remote or "unknown"


class ClientConnections:
    """Open live connections per client address; at most `limit` each (0: no limit).

    With `shared` (Redis mode) the limit holds across every instance and worker, and acquiring
    and releasing are coroutines (one Redis round trip); otherwise they are plain calls.
    """

    def __init__(self, limit: int, shared: SharedLimits | None = None) -> None:
        self.limit = limit
        self.shared = shared
        self._open: dict[str, int] = {}  # client address -> open WebSocket + SSE connections

    def acquire(self, address: str) -> Awaitable[None] | None:
        """Count one more connection from `address`; raises (or the awaitable it returns
        raises) TooManyConnections."""
        if not self.limit:
            return None
        if self.shared is not None:
            return self._acquire_shared(address)
        count = self._open.get(address, 0)
        if count >= self.limit:
            raise self._refusal()
        self._open[address] = count + 1
        return None

    async def _acquire_shared(self, address: str) -> None:
        assert self.shared is not None
        if not await self.shared.acquire(address, self.limit):
            raise self._refusal()

    def _refusal(self) -> TooManyConnections:
        return TooManyConnections(f"at most {self.limit} live connections per client address")

    def release(self, address: str) -> Awaitable[None] | None:
        if not self.limit:
            return None
        if self.shared is not None:
            return self.shared.release(address)
        count = self._open.get(address, 0) - 1
        if count > 0:
            self._open[address] = count
        else:
            self._open.pop(address, None)
        return None

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

    def full(self) -> bool:
        """Whether it has refilled: it then holds nothing a new bucket would not."""
        return self._tokens + (self._clock() - self._at) * self.rate >= self.burst


class IngestLimiter:
    """Events per second per scorekeeper key (token bucket); rate 0 turns it off.

    A batch costs one token per event, at most `burst`, so a batch as large as the burst can
    always get through once the bucket has refilled. One bucket per configured key: the map
    is bounded by the key ring, not by what clients send. With `shared` (Redis mode) the
    budget is the whole service's, counted in Redis (shared_limits.py).
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
        shared: SharedLimits | None = None,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.shared = shared
        self._clock = clock
        self._buckets: dict[Hashable, TokenBucket] = {}  # API key -> its bucket

    def charge(self, key: ApiKey, events: int) -> Awaitable[None] | None:
        """Raises RateLimited (with the seconds to wait) when the key has no room for `events`;
        in Redis mode returns an awaitable that does (None otherwise: no await on the hot path)."""
        if self.rate <= 0:
            return None
        cost = min(max(events, 1), self.burst)
        if self.shared is not None:
            return self._charge_shared(key, cost)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self._clock)
        wait = bucket.take(cost)
        if wait:
            raise self._refusal(wait)
        return None

    async def _charge_shared(self, key: ApiKey, cost: int) -> None:
        assert self.shared is not None
        wait = await self.shared.charge(key_id(key.secret), cost)
        if wait:
            raise self._refusal(wait)

    def _refusal(self, wait: float) -> RateLimited:
        return RateLimited(
            f"this API key may post {self.rate:g} events per second (bursts of {self.burst}); "
            "retry after the Retry-After seconds",
            retry_after=max(1, math.ceil(wait)),
        )


class ClientRateLimiter:
    """Requests per second per client address (token bucket) for one kind of request; rate 0
    turns it off. Each request costs one token; `burst` of them may come at once.

    The buckets are keyed by what the network hands us, so their number is bounded: past
    `max_tracked` addresses, buckets that have refilled are dropped (they hold nothing a new
    one would not), and if a flood from that many addresses at once leaves none refilled, the
    oldest half goes (those addresses get a fresh burst: the limit loosens, memory does not
    grow). With `shared` (Redis mode) the budget is the whole service's, counted in Redis.
    """

    def __init__(
        self, name: str, what: str, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
        shared: SharedLimits | None = None, max_tracked: int = 10_000,
    ) -> None:
        self.name = name  # names its windows in Redis
        self.what = what  # the requests it limits, for the refusal: "push subscription requests"
        self.rate = rate
        self.burst = burst
        self.shared = shared
        self.max_tracked = max_tracked
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}  # client address -> its bucket, oldest first

    def charge(self, address: str) -> Awaitable[None] | None:
        """Raises RateLimited when `address` has no room for one more request; in Redis mode
        returns an awaitable that does."""
        if self.rate <= 0:
            return None
        if self.shared is not None:
            return self._charge_shared(address)
        bucket = self._buckets.get(address)
        if bucket is None:
            if len(self._buckets) >= self.max_tracked:
                self._forget()
            bucket = self._buckets[address] = TokenBucket(self.rate, self.burst, self._clock)
        wait = bucket.take(1)
        if wait:
            raise self._refusal(wait)
        return None

    def tracked(self) -> int:
        return len(self._buckets)

    def _forget(self) -> None:
        self._buckets = {address: b for address, b in self._buckets.items() if not b.full()}
        if len(self._buckets) >= self.max_tracked:
            kept = list(self._buckets.items())[len(self._buckets) // 2:]
            self._buckets = dict(kept)

    async def _charge_shared(self, address: str) -> None:
        assert self.shared is not None
        wait = await self.shared.hit_window(self.name, address, self.rate, self.burst)
        if wait:
            raise self._refusal(wait)

    def _refusal(self, wait: float) -> RateLimited:
        per_minute = self.rate * 60
        return RateLimited(
            f"at most {per_minute:g} {self.what} a minute from one address (bursts of {self.burst}); "
            "retry after the Retry-After seconds",
            retry_after=max(1, math.ceil(wait)),
        )
