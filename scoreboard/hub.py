"""In-process fan-out: match id -> subscribers. The hub knows nothing of sockets.

The publisher never waits for a subscriber. For each frame, each subscriber of the match (and
each wildcard one) is offered it once, through one narrow interface (`Subscriber`): first
`try_write`, the fast path (a WebSocket fan that is up to date writes the frame's shared
pre-built bytes to its transport at once), and when that declines, `enqueue`, the subscriber's
own bounded queue. That is the only path from publish to a fan; the subscriber keeps the one
cursor per match that says what it has had (web/live/session.py). A subscriber that cannot keep
up is cut off by its own bound rather than slowing the publisher or the other fans, and
resumes from its last seq.

A seq that cannot be published (its frame could not be built) is never skipped silently:
`resync` tells every subscriber of the match to fetch it from the store (service.py counts
these in /metrics).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from .frames import Frame

log = logging.getLogger(__name__)

WILDCARD = "*"


class Subscriber(Protocol):
    """What the hub asks of a subscriber. Every method is called on the event loop, must not
    block or raise, and is called per match in seq order."""

    def try_write(self, frame: Frame) -> bool:
        """Send `frame` now if nothing of this subscriber waits before it; True when it was
        taken (sent, or not wanted: had already, not allowed), False to have it `enqueue`d."""

    def enqueue(self, frame: Frame) -> None:
        """Take `frame` into the subscriber's bounded queue, behind what waits there."""

    def resync(self, match_id: str, seq: int) -> None:
        """Frame `seq` of `match_id` will never come (it could not be built): fetch what was
        missed from the store before any later frame."""

    def send_notice(self, notice: Frame) -> None:
        """Take a message that is no event of the log (seq 0, e.g. how many watch): it moves
        no cursor and may be dropped for a fan that is behind."""


class Hub:
    """Topics are match ids; WILDCARD subscribers get every match."""

    def __init__(self) -> None:
        self._topics: dict[str, set[Subscriber]] = {}  # match id (or "*") -> subscribers
        self._last_seq: dict[str, int] = {}  # match id -> seq of the last frame published
        self.deliveries = 0

    def subscribe(self, subscriber: Subscriber, match_ids: Iterable[str]) -> None:
        for match_id in match_ids:
            self._topics.setdefault(match_id, set()).add(subscriber)

    def unsubscribe(self, subscriber: Subscriber, match_ids: Iterable[str]) -> None:
        for match_id in match_ids:
            subscribers = self._topics.get(match_id)
            if subscribers is not None:
                subscribers.discard(subscriber)
                if not subscribers:
                    del self._topics[match_id]

    def publish(self, frame: Frame) -> int:
        """Offer `frame` to the match's and the wildcard subscribers; returns how many."""
        match_id = frame.match_id
        if frame.seq > self._last_seq.get(match_id, 0):
            self._last_seq[match_id] = frame.seq
        count = self._offer(frame, self._topics.get(match_id))
        count += self._offer(frame, self._topics.get(WILDCARD))
        self.deliveries += count
        return count

    @staticmethod
    def _offer(frame: Frame, subscribers: set[Subscriber] | None) -> int:
        if not subscribers:
            return 0
        # Over a copy: a subscriber may leave while it is offered the frame (its socket failed).
        for subscriber in tuple(subscribers):
            try:
                if not subscriber.try_write(frame):
                    subscriber.enqueue(frame)
            except Exception:  # one broken subscriber must not cost the others their frame
                log.exception("a subscriber failed to take frame %s of %s: it resyncs", frame.seq, frame.match_id)
                try:
                    subscriber.resync(frame.match_id, frame.seq)  # no seq skipped silently
                except Exception:
                    log.exception("the subscriber could not resync either")
        return len(subscribers)

    def resync(self, match_id: str, seq: int) -> None:
        """Frame `seq` of `match_id` was not published (it could not be built): every
        subscriber of the match, and every wildcard one, is told to fetch it from the store,
        so none skips it silently."""
        if seq <= self._last_seq.get(match_id, 0):
            return
        self._last_seq[match_id] = seq
        for subscriber in (*self._topics.get(match_id, ()), *self._topics.get(WILDCARD, ())):
            subscriber.resync(match_id, seq)

    def forget(self, match_id: str) -> None:
        """Let go of the last seq published for a match nobody follows (a long uptime must not
        keep one per match ever played)."""
        if match_id not in self._topics:
            self._last_seq.pop(match_id, None)

    def subscriber_count(self, match_id: str | None = None) -> int:
        if match_id is not None:
            return len(self._topics.get(match_id, ()))
        return sum(len(s) for s in self._topics.values())

    def fan_counts(self) -> dict[str, int]:
        """Subscribers per match id, wildcard ones left out (a dashboard, not a fan of each)."""
        return {match_id: len(subscribers) for match_id, subscribers in self._topics.items()
                if match_id != WILDCARD}

    def announce(self, notice: Frame) -> None:
        """Hand `notice` to each subscriber of its match (not the wildcard ones), once."""
        for subscriber in tuple(self._topics.get(notice.match_id, ())):
            subscriber.send_notice(notice)
