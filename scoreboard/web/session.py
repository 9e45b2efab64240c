"""One fan's live session, whatever carries it (WebSocket or SSE).

Ordering guarantee: for each match a fan gets every event exactly once, in seq order,
across (re)subscriptions. How: subscribe to the hub *before* reading the catch-up, send the
catch-up under the send lock, then let live frames through only when their seq is past the
match's cursor. A frame that raced the catch-up is dropped as already sent; none can be missed.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from ..errors import MatchNotFound, ScoreboardError
from ..hub import WILDCARD, BufferedSubscriber, Frame, Hub
from ..service import ScoreService

log = logging.getLogger(__name__)

# send(text, kind, cursor): kind is "snapshot", "event" or "control"; cursor is the SSE event id.
Sender = Callable[[str, str, str | None], Awaitable[None]]


class TooManySubscriptions(ScoreboardError):
    code = "too_many_subscriptions"
    status = 429


class LiveSession:
    def __init__(
        self, service: ScoreService, hub: Hub, send: Sender, *,
        buffer_limit: int, max_subscriptions: int, on_overflow: Callable[[], None],
        on_sent: Callable[[Frame], None] | None = None, sample_every: int = 16,
    ) -> None:
        self._service = service
        self._hub = hub
        self._send = send
        self._max_subscriptions = max_subscriptions
        self._subscriber = BufferedSubscriber(buffer_limit, on_overflow)
        self._cursors: dict[str, int] = {}  # match id -> last seq sent to this fan
        self._topics: set[str] = set()  # what we asked the hub for, to undo on close
        self._send_lock = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None
        # Access (viewer.py): which private matches a wildcard subscription may carry. Explicit
        # subscriptions are checked by the transport before subscribe() is called.
        self.may_view_private: Callable[[str], bool] = _no_private_match
        # Metrics hook: one sent batch in `sample_every` is reported (its last frame), so the
        # per-delivery cost is a countdown, not a clock read and a histogram update.
        self._on_sent = on_sent
        self._sample_every = self._until_sample = sample_every

    @property
    def overflowed(self) -> bool:
        return self._subscriber.overflowed

    def cursor_id(self) -> str:
        """`a:17,b:3`: where this fan stands in every match; an SSE id that can resume all."""
        return ",".join(f"{match_id}:{seq}" for match_id, seq in sorted(self._cursors.items()))

    def start(self) -> None:
        self._pump = asyncio.create_task(self._forward_live_frames())

    async def close(self) -> None:
        self._hub.unsubscribe(self._subscriber, self._topics)
        self._topics.clear()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    async def subscribe(self, match_ids: Iterable[str], since: dict[str, int]) -> list[str]:
        """Subscribe and send each match's catch-up; returns the ids that do not exist."""
        wanted = [m for m in dict.fromkeys(match_ids) if m not in self._topics]
        if len(self._topics) + len(wanted) > self._max_subscriptions:
            raise TooManySubscriptions(
                f"at most {self._max_subscriptions} matches per connection"
            )
        missing: list[str] = []
        for match_id in wanted:
            if match_id == WILDCARD:
                self._hub.subscribe(self._subscriber, [WILDCARD])
                self._topics.add(WILDCARD)
                continue
            async with self._send_lock:
                self._hub.subscribe(self._subscriber, [match_id])
                self._topics.add(match_id)
                try:
                    catch_up = await self._service.catch_up(match_id, since.get(match_id))
                except MatchNotFound:
                    self._hub.unsubscribe(self._subscriber, [match_id])
                    self._topics.discard(match_id)
                    missing.append(match_id)
                    continue
                if catch_up.snapshot is not None:
                    self._cursors[match_id] = catch_up.seq
                    await self._send(catch_up.snapshot, "snapshot", self.cursor_id())
                for frame in catch_up.frames:
                    self._cursors[match_id] = frame.seq
                    await self._send(frame.text, "event", self.cursor_id())
                self._cursors[match_id] = catch_up.seq
        return missing

    def unsubscribe(self, match_ids: Iterable[str]) -> None:
        for match_id in match_ids:
            if match_id in self._topics:
                self._hub.unsubscribe(self._subscriber, [match_id])
                self._topics.discard(match_id)
                self._cursors.pop(match_id, None)

    @property
    def subscriptions(self) -> list[str]:
        return sorted(self._topics)

    async def _forward_live_frames(self) -> None:
        while True:
            frames = await self._subscriber.next_frames()
            if self._subscriber.overflowed:
                return
            async with self._send_lock:
                for frame in frames:
                    if self._should_send(frame):
                        self._cursors[frame.match_id] = frame.seq
                        await self._send(frame.text, "event", self.cursor_id())
            self._until_sample -= 1
            if not self._until_sample:
                self._until_sample = self._sample_every
                if self._on_sent is not None and frames:
                    self._on_sent(frames[-1])

    def _should_send(self, frame: Frame) -> bool:
        cursor = self._cursors.get(frame.match_id)
        if cursor is None:
            # Only a wildcard fan gets frames of a match it holds no cursor for, and of a
            # private match only when its token or key grants it.
            return WILDCARD in self._topics and (
                frame.match_id not in self._service.private_matches or self.may_view_private(frame.match_id)
            )
        if frame.match_id not in self._topics and WILDCARD not in self._topics:
            return False  # unsubscribed while the frame was buffered
        return frame.seq > cursor


def _no_private_match(match_id: str) -> bool:
    return False


def parse_since(raw: str) -> dict[str, int]:
    """`a:17,b:3` -> {"a": 17, "b": 3}; raises ValueError on anything else."""
    cursors: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        match_id, sep, seq = part.rpartition(":")
        if not sep or not match_id or not seq.isdigit():
            raise ValueError(f"bad cursor {part!r}: use match:seq")
        cursors[match_id] = int(seq)
    return cursors


def parse_matches(raw: str) -> list[str]:
    return [m.strip() for m in raw.split(",") if m.strip()]
