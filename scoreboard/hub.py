"""In-process fan-out: match id -> subscribers, each with a bounded buffer.

The publisher never waits for a subscriber: `publish` hands the one pre-serialized frame to
every subscriber's `deliver`, which must not block. A subscriber that cannot keep up is cut
off (its buffer overflows) rather than slowing the publisher or the other fans; it can
resume from its last seq.
"""
from __future__ import annotations

import asyncio
import struct
from collections import deque
from collections.abc import Callable, Iterable
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


class BufferedSubscriber:
    """A subscriber whose frames wait in a bounded buffer for one consumer task.

    The bound is what keeps a stalled client from growing memory without limit: past
    `limit` frames it is marked overflowed and `on_overflow` runs once (the connection
    then closes with a resume hint).
    """

    def __init__(self, limit: int, on_overflow: Callable[[], None] | None = None) -> None:
        self._frames: deque[Frame] = deque()
        self._limit = limit
        self._on_overflow = on_overflow
        self._ready = asyncio.Event()
        self.overflowed = False

    def deliver(self, frame: Frame) -> None:
        if self.overflowed:
            return
        if len(self._frames) >= self._limit:
            self.overflowed = True
            self._frames.clear()
            self._ready.set()
            if self._on_overflow is not None:
                self._on_overflow()
            return
        self._frames.append(frame)
        self._ready.set()

    async def next_frames(self) -> list[Frame]:
        """Every frame buffered so far (waits for at least one); [] once overflowed."""
        await self._ready.wait()
        self._ready.clear()
        frames = list(self._frames)
        self._frames.clear()
        return [] if self.overflowed else frames

    def __len__(self) -> int:
        return len(self._frames)
