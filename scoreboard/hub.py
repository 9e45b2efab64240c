"""In-process fan-out: match id -> subscribers.

The publisher never waits for a subscriber: `publish` hands the one pre-serialized frame to
every subscriber's `deliver`, which must not block. Each subscriber bounds its own backlog
(web/session.py): one that cannot keep up is cut off rather than slowing the publisher or
the other fans, and resumes from its last seq.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class Frame:
    """One live message, serialized once for every subscriber of its match."""

    match_id: str
    seq: int
    text: str
    # The WebSocket frame, built on first use and then shared by every fan (websocket_bytes).
    _wire: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def websocket_bytes(self) -> bytes:
        """`text` as one whole RFC 6455 text frame from a server: unmasked, uncompressed."""
        wire = self._wire
        if wire is None:
            wire = websocket_text_frame(self.text.encode())
            object.__setattr__(self, "_wire", wire)  # frozen: a cache, not a change of value
        return wire


def websocket_text_frame(payload: bytes) -> bytes:
    """FIN + text opcode, no RSV bits (no extension is negotiated), no mask (server side)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


class Subscriber(Protocol):
    def deliver(self, frame: Frame) -> None:
        """Take a frame without blocking or raising; called once per frame, in seq order."""


class Hub:
    """Topics are match ids; WILDCARD subscribers get every match."""

    def __init__(self) -> None:
        self._topics: dict[str, set[Subscriber]] = {}  # match id (or "*") -> subscribers
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
        """Hand `frame` to the match's and the wildcard subscribers; returns how many."""
        count = 0
        for topic in (frame.match_id, WILDCARD):
            subscribers = self._topics.get(topic)
            if subscribers:
                # A copy: a deliver() may unsubscribe (overflow) while we iterate.
                for subscriber in tuple(subscribers):
                    subscriber.deliver(frame)
                count += len(subscribers)
        self.deliveries += count
        return count

    def subscriber_count(self, match_id: str | None = None) -> int:
        if match_id is not None:
            return len(self._topics.get(match_id, ()))
        return sum(len(subscribers) for subscribers in self._topics.values())
