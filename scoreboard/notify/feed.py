"""The durable event feed the notifier follows: every committed event once, in seq order per
match, again after a crash until it is acknowledged. Two implementations, like the stores:

- `SqliteFeed` (embedded default): the event store's commit listener hands each event over
  as it commits, costing the ingest path one queue append; a per-match cursor ("handled up to
  seq N") is saved in the notify file, batched every `flush_interval`. At start, every event
  past a match's cursor is read back from the log: an event that got its 2xx but not its
  pushes before a crash is handled after the restart.
- `feed_redis.RedisFeed`: a consumer group on the stream the bridge already follows (the
  stream entry is written in the same MULTI as the events), read by the one instance that
  holds the notifier lease; unacknowledged entries are claimed by the next leader.

Handling an event twice is possible after a crash (at least once): webhook receivers drop it
by `Scoreboard-Event-Id`, a push carries the same `tag` so the browser replaces, not adds.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from ..domain import Event, Match, MatchState, SportProfile, apply, fold
from ..store.base import Committed, EventStore
from .store.sqlite import SqliteNotifyStore

log = logging.getLogger(__name__)


@dataclass
class FeedItem:
    """One committed event with the match state right after it."""

    match: Match
    event: Event
    state: MatchState
    ack: Callable[[], None] = field(default=lambda: None, repr=False)  # call once, when handled


Handler = Callable[[FeedItem], Awaitable[None]]
Leading = Callable[[bool], Awaitable[None]]


class Feed(Protocol):
    async def prepare(self) -> None:
        """Before the server serves: make sure no event committed from now on can be missed."""

    async def run(self, handler: Handler, leading: Leading) -> None:
        """Call `handler` for each event in order, for as long as it runs (until cancelled).

        `leading(True)` before the first event this instance is to handle, `leading(False)`
        when it stops being the one instance that notifies (Redis lease lost).
        """

    async def close(self) -> None:
        """Save what was acknowledged."""


def states_after(log: Sequence[Event], profile: SportProfile) -> list[MatchState]:
    """The state after each event of a whole log, as fans saw it live."""
    states = []
    state = MatchState()
    for index, event in enumerate(log):
        if event.type == "retract":
            state = fold(log[: index + 1], profile)
        else:
            state = replace(apply(state, event, profile), seq=event.seq)
        states.append(state)
    return states


def items_of(committed: Committed) -> Iterable[tuple[Match, Event, MatchState]]:
    acceptance = committed.acceptance
    return ((committed.match, event, state) for event, state in zip(acceptance.new_events, acceptance.after))


class SqliteFeed:
    """The embedded feed: commit listener + per-match cursor in the notify file."""

    def __init__(self, events: EventStore, store: SqliteNotifyStore, flush_interval: float = 0.5) -> None:
        self._events = events
        self._store = store
        self._flush_interval = flush_interval
        self._queue: asyncio.Queue[FeedItem] = asyncio.Queue()  # unbounded: one small item per event
        self._queued: dict[str, int] = {}  # match id -> newest seq put in the queue
        self._cursor: dict[str, int] = {}  # match id -> every seq up to this one is handled
        self._acked: dict[str, set[int]] = {}  # match id -> handled seqs past the cursor
        self._dirty: dict[str, int] = {}  # cursors not yet saved
        self._flusher: asyncio.Task[None] | None = None
        events.add_commit_listener(self._on_commit)

    def _on_commit(self, committed: Committed) -> None:
        for match, event, state in items_of(committed):
            self._put(match, event, state)

    def _put(self, match: Match, event: Event, state: MatchState) -> None:
        if event.seq <= self._queued.get(match.id, 0):
            return
        self._queued[match.id] = event.seq
        self._queue.put_nowait(FeedItem(match, event, state, lambda: self._ack(match.id, event.seq)))

    async def prepare(self) -> None:
        await self._recover()

    async def run(self, handler: Handler, leading: Leading) -> None:
        await leading(True)
        self._flusher = asyncio.create_task(self._flush_loop(), name="notify cursor")
        while True:
            item = await self._queue.get()
            try:
                await handler(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notifying event %s of match %s failed; skipped", item.event.seq, item.match.id)
                item.ack()

    async def _recover(self) -> None:
        """Queue every committed event past its match's cursor, before any live one (so before
        the server serves: `_put` keeps only seqs past the newest queued)."""
        cursors = await self._store.cursors()
        matches = await self._events.list_matches()
        if cursors is None:
            cursors = {match.id: state.seq for match, state in matches}
            await self._store.start_cursors(cursors)
            log.info("notifications start from the current end of %d matches' logs", len(cursors))
        self._cursor.update(cursors)
        behind = 0
        for match, state in matches:
            done = cursors.get(match.id, 0)
            if state.seq <= done:
                continue
            log_events = await self._events.events_since(match.id, 0, state.seq)
            for event, after in zip(log_events, states_after(log_events, match.profile)):
                if event.seq > done:
                    self._put(match, event, after)
                    behind += 1
        if behind:
            log.info("notifying %d events committed before the last stop and not yet notified", behind)

    def _ack(self, match_id: str, seq: int) -> None:
        acked = self._acked.setdefault(match_id, set())
        acked.add(seq)
        cursor = self._cursor.get(match_id, 0)
        while cursor + 1 in acked:
            cursor += 1
            acked.discard(cursor)
        if not acked:
            del self._acked[match_id]
        if cursor != self._cursor.get(match_id, 0):
            self._cursor[match_id] = self._dirty[match_id] = cursor

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval)
            await self._flush()

    async def _flush(self) -> None:
        dirty, self._dirty = self._dirty, {}
        if not dirty:
            return
        try:
            await self._store.save_cursors(dirty)
        except Exception as exc:
            log.error("saving the notify cursors failed (kept for the next try): %s", exc)
            for match_id, seq in dirty.items():
                self._dirty.setdefault(match_id, seq)

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self._flush()
