"""Delivering queued webhook events: one task per endpoint, head of its queue first.

Order: an endpoint's queue (its outbox) is filled in feed order (seq order per match), and
its task sends one delivery at a time and moves on only after a 2xx, so a receiver sees each
match's events in seq order. At least once: a delivery leaves the queue only after its 2xx; a
crash before that sends it again after the restart. Failures (non-2xx, timeouts, refused
addresses) are retried with exponential backoff and full jitter, capped at an hour between
attempts; once a delivery has failed for `max_age` (24 h) since its first failure, the
endpoint is disabled with the reason, which GET /api/webhooks/{id} shows.

A disabled endpoint keeps its outbox, and events still join it; what was queued more than
`max_age` ago is dropped (`expire`, recorded as an "expired" attempt). Enabling it again
(`resume`) sends the rest, in order, starting with a fresh retry clock.

Only the instance that leads notifications runs the tasks (feed.py); an endpoint enabled on
another instance, or any outbox left waiting, is picked up by a sweep every SWEEP_INTERVAL.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import replace
from typing import Any

import aiohttp

from ..domain import utc_now
from .guard import GuardedResolver, OutboundGuard, OutboundRefused
from .models import QueuedDelivery, WebhookEndpoint
from .signing import EVENT_ID_HEADER, SIGNATURE_HEADER, signature
from .store.base import Expired, NotifyStore

log = logging.getLogger(__name__)

RETRY_BASE = 1.0
RETRY_CAP = 3600.0
TIMEOUT = 10.0
IDLE_EXIT = 60.0  # seconds an endpoint's task waits for work before it ends
SWEEP_INTERVAL = 5.0  # seconds between looks for enabled endpoints with deliveries waiting
USER_AGENT = "Scoreboard-Webhooks/1"


def backoff(attempts: int, base: float = RETRY_BASE, cap: float = RETRY_CAP) -> float:
    """Seconds before retry number `attempts` + 1: exponential, full jitter (at least half)."""
    ceiling = min(cap, base * 2 ** min(attempts - 1, 30))
    return random.uniform(ceiling / 2, ceiling)


class WebhookDeliverer:
    """Runs the endpoint tasks; only on the instance that leads notifications (feed.py)."""

    def __init__(self, store: NotifyStore, guard: OutboundGuard, max_age: float = 86400.0,
                 timeout: float = TIMEOUT) -> None:
        self._store = store
        self._guard = guard
        self._max_age = max_age
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}  # endpoint id -> its delivery task
        self._wakeups: dict[str, asyncio.Event] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self.running = False

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._guard), limit=64, ttl_dns_cache=60)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self._timeout), trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )
        self.running = True
        await self._sweep()
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="webhook sweep")

    async def stop(self) -> None:
        self.running = False
        tasks = list(self._tasks.values())
        if self._sweeper is not None:
            tasks.append(self._sweeper)
            self._sweeper = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def wake(self, endpoint_id: str) -> None:
        """New deliveries were queued for this endpoint."""
        if not self.running:
            return
        event = self._wakeups.setdefault(endpoint_id, asyncio.Event())
        event.set()
        task = self._tasks.get(endpoint_id)
        if task is None or task.done():
            self._tasks[endpoint_id] = asyncio.create_task(self._run(endpoint_id), name=f"webhook {endpoint_id}")

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            try:
                await self._sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store is down (a Redis blip): the next sweep retries
                log.warning("looking for webhook deliveries to make failed: %s", exc)

    async def _sweep(self) -> None:
        """Wake (or start) the task of every enabled endpoint whose outbox holds deliveries: an
        idle task waits for a wake-up that an enabling on another instance cannot give."""
        waiting = set(await self._store.endpoints_with_queue())
        if not waiting:
            return
        for endpoint in await self._store.list_endpoints():
            if endpoint.id in waiting and endpoint.disabled_at is None:
                self.wake(endpoint.id)

    async def expire(self, endpoint_id: str) -> Expired:
        """Drop what the endpoint's outbox holds from more than `max_age` ago; an "expired"
        attempt says how much, so its owner knows what it will not get."""
        expired = await self._store.queue_expire(endpoint_id, time.time() - self._max_age)
        if expired.count and expired.first is not None and expired.last is not None:
            first, last = expired.first, expired.last
            await self._store.add_attempt(endpoint_id, {
                "event_id": first.event_id, "match_id": first.match_id, "seq": first.seq, "attempt": first.attempts,
                "at": utc_now(), "status": None, "duration_ms": 0.0, "outcome": "expired",
                "error": (f"{expired.count} deliveries queued over {self._max_age / 3600:g} h ago were dropped "
                          f"while the endpoint was disabled ({first.event_id} ... {last.event_id})"),
            })
            log.info("webhook endpoint %s: %d deliveries expired", endpoint_id, expired.count)
        return expired

    async def resume(self, endpoint_id: str) -> None:
        """Before a disabled endpoint is enabled again: drop what expired, and give the head
        of its outbox a fresh start (no backoff left over, a new max_age to succeed in)."""
        await self.expire(endpoint_id)
        head = await self._store.queue_head(endpoint_id)
        if head is not None:
            await self._store.queue_retry(replace(head, attempts=0, next_at=0.0, failing_since=0.0))

    async def _run(self, endpoint_id: str) -> None:
        wakeup = self._wakeups.setdefault(endpoint_id, asyncio.Event())
        failures = 0
        while True:
            try:
                wakeup.clear()
                head = await self._store.queue_head(endpoint_id)
                if head is None:
                    try:
                        await asyncio.wait_for(wakeup.wait(), IDLE_EXIT)
                    except asyncio.TimeoutError:
                        break
                    continue
                await self._deliver(endpoint_id, head)
                failures = 0
            except asyncio.CancelledError:
                raise
            except _EndpointGone:
                break
            except Exception:
                # The store is down (Redis blip) or a bug: log, back off, carry on.
                log.exception("webhook delivery loop for %s failed; retrying", endpoint_id)
                failures += 1
                await asyncio.sleep(min(30.0, 0.5 * 2 ** failures))
        if self._tasks.get(endpoint_id) is asyncio.current_task():
            del self._tasks[endpoint_id]
            self._wakeups.pop(endpoint_id, None)

    async def _deliver(self, endpoint_id: str, delivery: QueuedDelivery) -> None:
        endpoint = await self._store.get_endpoint(endpoint_id)
        if endpoint is None:  # deleted: its queue went with it (or goes now)
            await self._store.queue_clear(endpoint_id)
            raise _EndpointGone()
        if endpoint.disabled_at is not None:  # the outbox waits for it to be enabled again
            raise _EndpointGone()
        wait = delivery.next_at - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
            endpoint = await self._current(endpoint_id)  # disabled, a new URL or secret meanwhile?
        started = time.time()
        status, error = await self._post(endpoint, delivery)
        attempt = delivery.attempts + 1
        record: dict[str, Any] = {
            "event_id": delivery.event_id, "match_id": delivery.match_id, "seq": delivery.seq,
            "attempt": attempt, "at": utc_now(), "status": status, "error": error,
            "duration_ms": round((time.time() - started) * 1000, 1),
        }
        if status is not None and 200 <= status < 300:
            record["outcome"] = "delivered"
            await self._store.add_attempt(endpoint_id, record)
            await self._store.queue_pop(delivery)
            return
        failing_since = delivery.failing_since or started
        failing_for = time.time() - failing_since
        if failing_for >= self._max_age:
            record["outcome"] = "gave_up"
            await self._store.add_attempt(endpoint_id, record)
            reason = (f"deliveries failed for {failing_for / 3600:.1f} h ({attempt} attempts of event "
                      f"{delivery.event_id}); last: {error or f'HTTP {status}'}")
            await self._store.queue_retry(replace(delivery, attempts=attempt, failing_since=failing_since))
            # Only the disabling is written: a change its owner made meanwhile (a new URL) stays.
            await self._store.update_endpoint(
                endpoint_id, lambda current: current if current.disabled_at else current.disabled(reason))
            log.warning("webhook endpoint %s disabled (its outbox is kept): %s", endpoint_id, reason)
            raise _EndpointGone()
        record["outcome"] = "retrying"
        await self._store.add_attempt(endpoint_id, record)
        delay = min(backoff(attempt), max(0.0, failing_since + self._max_age - time.time()))
        await self._store.queue_retry(replace(
            delivery, attempts=attempt, next_at=time.time() + delay, failing_since=failing_since))

    async def _current(self, endpoint_id: str) -> WebhookEndpoint:
        """The endpoint if it may still be delivered to; raises _EndpointGone otherwise."""
        endpoint = await self._store.get_endpoint(endpoint_id)
        if endpoint is None or endpoint.disabled_at is not None:
            raise _EndpointGone()
        return endpoint

    async def _post(self, endpoint: WebhookEndpoint, delivery: QueuedDelivery) -> tuple[int | None, str | None]:
        assert self._session is not None
        body = delivery.body.encode()
        now = time.time()
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: delivery.event_id,
            SIGNATURE_HEADER: signature(endpoint.signing_secrets(now), body, int(now)),
        }
        try:
            async with self._session.post(endpoint.url, data=body, headers=headers,
                                          allow_redirects=False) as response:
                await response.read()
                error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
                return response.status, error
        except OutboundRefused as exc:
            return None, f"refused: {exc}"
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, OutboundRefused):
                return None, f"refused: {exc.os_error}"
            return None, f"cannot connect: {exc.os_error}"
        except asyncio.TimeoutError:
            return None, f"no answer within {self._timeout:.0f} s"
        except (aiohttp.ClientError, OSError) as exc:
            return None, f"network error: {exc.__class__.__name__}: {exc}"


class _EndpointGone(Exception):
    """The endpoint was deleted or disabled: its task ends."""
