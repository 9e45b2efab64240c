"""The notifier: each event from the feed becomes queued webhook deliveries and one push job.

Per event, in feed order: the webhook deliveries are queued durably (awaited, so their order
is the feed's; a disabled endpoint's outbox gets them too, for when it is enabled again),
then the push alert is built once and handed to the sender; the event is acknowledged to the
feed when the sender has answered for every subscription. Subscriptions the push service
reports gone (404/410) are deleted here, unless renewed with a new endpoint meanwhile.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain import Event, Match, MatchState
from ..store.base import EventStore
from .alerts import Alert, alert_kind, build_alert
from .feed import FeedItem
from .models import PushSubscription, QueuedDelivery, WebhookEndpoint
from .pool import PushTransport
from .sender import JobResult, PushJob
from .store.base import NotifyStore
from .webhooks import WebhookDeliverer

log = logging.getLogger(__name__)

BATCH = 500  # subscriptions per job handed to a sender: ~0.1 ms to pickle, small results
ENDPOINT_CACHE_SECONDS = 2.0  # Redis mode: endpoints made on other instances show up this fast
EXPIRE_EVERY = 60.0  # seconds between drops of what a disabled endpoint's outbox holds too long


class Notifier:
    def __init__(self, store: NotifyStore, events: EventStore, transport: PushTransport,
                 deliverer: WebhookDeliverer, ttl: int,
                 on_push: Callable[[str, int], None] | None = None) -> None:
        self._store = store
        self._events = events
        self._transport = transport
        self._deliverer = deliverer
        self._ttl = ttl
        self._on_push = on_push or (lambda outcome, count: None)
        self._endpoints: list[WebhookEndpoint] = []
        self._endpoints_read = 0.0
        self._expired_at: dict[str, float] = {}  # disabled endpoint id -> when its outbox was last trimmed
        self._job_ids = 0
        self.pushes_in_flight = 0

    def endpoints_changed(self) -> None:
        self._endpoints_read = 0.0

    async def handle(self, item: FeedItem) -> None:
        match, event, state = item.match, item.event, item.state
        await self._queue_webhooks(match, event, state)
        target = await self._retracted(match, event)
        kind = alert_kind(event, target)
        subscriptions: list[PushSubscription] = []
        if kind is not None:
            subscriptions = await self._store.subscriptions_for(match.id, match.home, match.away, match.private, kind)
        alert = build_alert(match, event, state, target) if subscriptions else None
        if alert is None:
            item.ack()
            return
        expires_at = _timestamp(event.at) + self._ttl
        if expires_at <= time.time():
            log.info("not pushing event %s of %s: older than push_ttl", event.seq, match.id)
            item.ack()
            return
        futures = [self._transport.send(self._job(alert, subscriptions[i:i + BATCH], expires_at))
                   for i in range(0, len(subscriptions), BATCH)]
        self.pushes_in_flight += len(subscriptions)
        task = asyncio.ensure_future(self._finish(alert, len(subscriptions), futures))
        task.add_done_callback(lambda _: item.ack())

    def _job(self, alert: Alert, subscriptions: list[PushSubscription], expires_at: float) -> PushJob:
        self._job_ids += 1
        return PushJob(
            job_id=self._job_ids, targets=[(s.id, s.endpoint, s.p256dh, s.auth) for s in subscriptions],
            payload=alert.payload, match_id=alert.match_id, seq=alert.seq, topic=alert.topic,
            urgency=alert.urgency, expires_at=expires_at,
        )

    async def _finish(self, alert: Alert, count: int, futures: list[asyncio.Future[JobResult]]) -> None:
        results: list[JobResult] = []
        try:
            results = await asyncio.gather(*futures)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("push of event %s of %s failed", alert.seq, alert.match_id)
        finally:
            self.pushes_in_flight -= count
        sent = sum(r.sent for r in results)
        gone = [pair for r in results for pair in r.gone]
        failed = [f for r in results for f in r.failed]
        for outcome, number in (("sent", sent), ("gone", len(gone)), ("failed", len(failed)),
                                ("stale", sum(r.stale for r in results)),
                                ("superseded", sum(r.superseded for r in results))):
            if number:
                self._on_push(outcome, number)
        if gone:
            await self._store.delete_gone(gone)
        if failed:
            log.warning("push %s of %s: %d of %d failed (first: %s)", alert.kind, alert.match_id,
                        len(failed), count, failed[0][1])
        log.info("push %s of %s seq %d: %d sent, %d gone, %d failed", alert.kind, alert.match_id,
                 alert.seq, sent, len(gone), len(failed))

    async def _retracted(self, match: Match, event: Event) -> Event | None:
        """The event a retract takes back (to tell a disallowed goal from a retracted card)."""
        if event.type != "retract":
            return None
        target_seq = int(event.fields.get("target", 0))
        found = await self._events.events_since(match.id, target_seq - 1, 1) if target_seq > 0 else []
        return found[0] if found else None

    async def _queue_webhooks(self, match: Match, event: Event, state: MatchState) -> None:
        endpoints = [e for e in await self._current_endpoints() if e.wants(match.id, event.type)]
        if not endpoints:
            return
        body = webhook_body(match, event, state)
        now = time.time()
        event_id = f"{match.id}:{event.seq}"
        await self._store.enqueue([
            QueuedDelivery(endpoint_id=e.id, match_id=match.id, seq=event.seq, event_id=event_id,
                           body=body, first_at=now, next_at=now)
            for e in endpoints
        ])
        for endpoint in endpoints:
            if endpoint.disabled_at is None:
                self._deliverer.wake(endpoint.id)
            elif now - self._expired_at.get(endpoint.id, 0.0) >= EXPIRE_EVERY:
                # A disabled endpoint's outbox keeps growing; what it holds past max_age goes.
                self._expired_at[endpoint.id] = now
                await self._deliverer.expire(endpoint.id)

    async def _current_endpoints(self) -> list[WebhookEndpoint]:
        if time.monotonic() - self._endpoints_read > ENDPOINT_CACHE_SECONDS:
            self._endpoints = await self._store.list_endpoints()
            self._endpoints_read = time.monotonic()
        return self._endpoints


def webhook_body(match: Match, event: Event, state: MatchState) -> str:
    """The JSON every endpoint gets for an event: the event, its match and the score after it."""
    message: dict[str, Any] = {
        "id": f"{match.id}:{event.seq}", "type": "event", "match_id": match.id, "seq": event.seq,
        "event": event.to_dict(),
        "match": {"id": match.id, "home": match.home, "away": match.away, "private": match.private},
        "score": state.score, "status": state.status, "period": state.period,
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def _timestamp(at: str) -> float:
    try:
        return datetime.fromisoformat(at).timestamp()
    except ValueError:
        return time.time()
