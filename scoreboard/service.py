"""ScoreService: the one place the web edge talks to. Ingest goes store (durable) -> hub.

It knows nothing of HTTP: handlers pass validated drafts in and get plain dicts back.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .domain import (
    EventDraft, Match, MatchState, competitions, filter_games, match_view, name_slug, slugify, standings,
)
from .errors import CompetitionNotFound, MatchNotFound
from .frames import Frame, FrameHistory, dumps, event_frame, frames_from_log, match_epoch, snapshot_message
from .hub import Hub
from .shared_calls import SharedCalls
from .store.base import Committed, EventStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatchUp:
    """What a fan is sent on (re)subscribing: a snapshot, or the frames it missed."""

    snapshot: str | None
    frames: list[Frame]
    seq: int  # where the fan stands afterwards
    epoch: str = ""  # the match log's epoch (frames.match_epoch), for the fan's resume cursor


@dataclass(frozen=True)
class IngestResult:
    created: bool  # False: every event was a retry of one already stored
    body: dict[str, Any]


class ScoreService:
    def __init__(self, store: EventStore, hub: Hub, snapshot_events: int = 200) -> None:
        self.store = store
        self.hub = hub
        self.snapshot_events = snapshot_events
        self.history = FrameHistory(depth=snapshot_events)
        # match id -> the match as last read or committed: a match never changes, only its state
        # does, so privacy checks and resumes need no store read once it is known (`_learn`).
        self._known: dict[str, Match] = {}
        self._rebuilds: SharedCalls[tuple[str, int], list[Frame] | None] = SharedCalls(self._rebuild)
        # match id -> (epoch, seq, watching, snapshot JSON): after a restart thousands of fans
        # reconnect at once and most want the same snapshot (~0.3 ms to build for a 200-event
        # match). The epoch tells a match made again under the same id (a lost log) from the
        # old one; the watching count changes at most once per watching_interval. Every fan
        # allowed to see a match gets the same text: nothing in it depends on who asks.
        self._snapshots: dict[str, tuple[str, int, int, str]] = {}
        # Ids of private matches seen committing: a wildcard fan must not get their frames
        # unless granted (web/live/session.py). Learned before each publish, whichever instance wrote.
        self.private_matches: set[str] = set()
        self.publish_errors = 0  # events whose frame could not be built or handed out (/metrics)
        # match id -> used since the last sweep. What is held in memory per match (the store's
        # copy of its log, its frame history and snapshot, the hub's last seq, ...) is let go
        # once a match has gone unused for a whole sweep with no live subscriber (`sweep`).
        self._used: dict[str, bool] = {}
        self._forget_listeners: list[Callable[[str], None]] = []
        # match id -> fans live on it over every instance ("N watching"), set by the wiring
        # (presence.WatchingCounter.count); in one match's view and in snapshots.
        self.watching: Callable[[str], int] = _nobody_watching
        store.add_commit_listener(self._publish)

    async def start(self) -> None:
        await self.store.open()

    async def stop(self) -> None:
        await self.store.close()

    # -- scorekeepers ------------------------------------------------------------------------

    async def create_match(self, data: dict[str, Any]) -> dict[str, Any]:
        match_id = data.get("id") or slugify(f"{data['home']}-v-{data['away']}")
        match = Match(
            id=match_id, home=data["home"], away=data["away"], starts_at=data.get("starts_at"),
            private=bool(data.get("private", False)), sport=data.get("sport") or "football",
            period_minutes=data.get("period_minutes"), extra_minutes=data.get("extra_minutes"),
            competition=data.get("competition"), stage=data.get("stage"), venue=data.get("venue"),
        )
        stored = await self.store.create_match(match)
        self._learn(stored)  # made again after its log was lost: drop what was held of the old one
        return await self.get_match(match.id)

    async def ingest(self, match_id: str, drafts: list[EventDraft]) -> IngestResult:
        self._used[match_id] = True
        acceptance = await self.store.append(match_id, drafts)
        events = [event.to_dict() for event, _ in acceptance.results]
        # The score as of this batch's last event, even if the log moved on meanwhile.
        body = {"events": events, "seq": events[-1]["seq"], "score": acceptance.state.score}
        return IngestResult(created=acceptance.created, body=body)

    # -- readers -----------------------------------------------------------------------------

    async def list_matches(
        self, status: str | None = None, competition: str | None = None, day: str | None = None,
    ) -> list[dict[str, Any]]:
        """Match views, newest first; `competition` is a slug, `day` a UTC date (YYYY-MM-DD)."""
        games = filter_games(await self.store.list_matches(status), competition, day)
        return [match_view(match, state) for match, state in games]

    async def competitions(self, allowed: Callable[[Match], bool]) -> list[dict[str, Any]]:
        """Every competition with a match `allowed` (the viewer may see it)."""
        games = [game for game in await self.store.list_matches() if allowed(game[0])]
        return competitions(games)

    async def standings(self, slug: str, allowed: Callable[[Match], bool]) -> dict[str, Any]:
        """The competition's live tables (domain.standings); raises MatchNotFound for an unknown slug."""
        games = [game for game in filter_games(await self.store.list_matches(), slug) if allowed(game[0])]
        if not games:
            raise CompetitionNotFound(f"no competition {slug!r}")
        name = games[0][0].competition or slug
        return {"competition": {"slug": name_slug(name), "name": name}, "tables": standings(games)}

    async def get_match(self, match_id: str) -> dict[str, Any]:
        self._used[match_id] = True
        match, state = await self.store.get(match_id)
        return {**match_view(match, state), "watching": self.watching(match_id)}

    async def is_private(self, match_id: str) -> bool:
        """Whether the match needs a grant to follow; raises MatchNotFound. No view is built:
        a live connection asks this for every match it subscribes to."""
        self._used[match_id] = True
        known = self._known.get(match_id)
        if known is None:
            known, _ = await self._read(match_id)
        return known.private

    async def _read(self, match_id: str) -> tuple[Match, MatchState]:
        """store.get, remembering the match (see `_known`)."""
        match, state = await self.store.get(match_id)
        self._learn(match)
        return match, state

    def _learn(self, match: Match) -> None:
        """`match` is the store's now; a match of the same id made again after its log was
        lost (another created_at: another epoch) makes what is held of the old one go."""
        held = self._known.get(match.id)
        if held is match or held == match:
            return  # the usual case, per commit and per read: nothing new
        if held is not None and held.created_at != match.created_at:
            self.history.forget(match.id)
            self._snapshots.pop(match.id, None)
        self._known[match.id] = match

    async def events_since(self, match_id: str, since: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        self._used[match_id] = True
        return [event.to_dict() for event in await self.store.events_since(match_id, since, limit)]

    async def catch_up(self, match_id: str, since: int | None, epoch: str | None = None) -> CatchUp:
        """The events after `since` when they are still at hand, else a snapshot.

        `epoch`: the log epoch the cursor came with (None: an older cursor without one); a
        cursor into another life of the log gets a snapshot. Raises MatchNotFound.
        """
        self._used[match_id] = True
        from_memory = self._snapshot_from_memory(match_id) if since is None else (
            self._resume_from_memory(match_id, since, epoch))
        if from_memory is not None:
            return from_memory
        match, state = await self._read(match_id)
        current = match_epoch(match.created_at)
        if (since is None or since > state.seq or state.seq - since > self.snapshot_events
                or (epoch is not None and epoch != current)):
            # No cursor, a cursor from another life of the log, or a gap too long to replay.
            return CatchUp(await self._snapshot(match, state, current), [], state.seq, current)
        frames = self.history.since(match_id, since)
        if frames is None:
            rebuilt = await self._rebuilds((match_id, state.seq), match)
            if rebuilt is None:
                return CatchUp(await self._snapshot(match, state, current), [], state.seq, current)
            frames = [frame for frame in rebuilt if frame.seq > since]
        return CatchUp(None, frames, frames[-1].seq if frames else since, current)

    def _resume_from_memory(self, match_id: str, since: int, epoch: str | None) -> CatchUp | None:
        """A resume answered from what this process holds, with no store read: the frames
        after `since` when the history holds every one of them up to the latest this process
        has published, else None (the store decides).

        The same answer the store would give: the fan subscribed to the hub before asking, so
        any event newer than the history's latest reaches it live, as after a store read (the
        history is filled as each frame is published, on this instance or through the Redis
        bridge). A fan ahead of what this process has seen, on another epoch, or further
        behind than the history reaches goes to the store.
        """
        held = self._held(match_id)
        if held is None:
            return None
        current, latest = held
        if since > latest or (epoch is not None and epoch != current):
            return None
        frames = self.history.since(match_id, since)
        if frames is None:
            return None
        return CatchUp(None, frames, frames[-1].seq if frames else since, current)

    def _snapshot_from_memory(self, match_id: str) -> CatchUp | None:
        """The snapshot this process built last, when it is still the match as of the latest
        frame it has published (and the same watching count): the same argument as for
        `_resume_from_memory`, anything newer reaches the fan live. Else None (the store)."""
        held = self._held(match_id)
        cached = self._snapshots.get(match_id)
        if held is None or cached is None:
            return None
        current, latest = held
        if cached[:3] != (current, latest, self.watching(match_id)):
            return None
        return CatchUp(cached[3], [], latest, current)

    def _held(self, match_id: str) -> tuple[str, int] | None:
        """(epoch, seq of the newest frame) of a match this process knows and holds frames
        of, else None: what a catch-up from memory starts from."""
        match = self._known.get(match_id)
        latest = self.history.latest(match_id)
        if match is None or latest is None:
            return None
        return match_epoch(match.created_at), latest

    async def _rebuild(self, key: tuple[str, int], match: Match) -> list[Frame] | None:
        """The frames of a match's log up to a seq, rebuilt from the store and kept in the
        history; None if they cannot be built. Shared by the fans that need it at once (after
        a restart the history is empty and every resuming fan of the match would)."""
        match_id, seq = key
        log_events = await self.store.events_since(match_id, 0, seq)
        try:
            rebuilt = frames_from_log(match, log_events)
        except Exception:
            # Whatever kept an event from being framed live keeps it now: the fan gets
            # the whole state instead, which needs no per-event frame.
            log.exception("rebuilding the frames of match %s failed: sending a snapshot", match_id)
            return None
        self.history.backfill(match_id, rebuilt)
        return rebuilt

    async def _snapshot(self, match: Match, state: MatchState, epoch: str) -> str:
        """The snapshot message as of `state`, built once per seq of each life of a match and
        watching count (which changes at most once per watching_interval)."""
        watching = self.watching(match.id)
        cached = self._snapshots.get(match.id)
        if cached is not None and cached[:3] == (epoch, state.seq, watching):
            return cached[3]
        tail = await self.store.tail(match.id, self.snapshot_events)
        text = dumps(snapshot_message({**match_view(match, state), "watching": watching}, tail))
        if (tail[-1].seq if tail else 0) == state.seq:  # not when the log moved on meanwhile
            self._snapshots[match.id] = (epoch, state.seq, watching, text)
        return text

    async def exists(self, match_id: str) -> bool:
        self._used[match_id] = True
        try:
            await self.store.get(match_id)
        except MatchNotFound:
            return False
        return True

    # -- fan-out -----------------------------------------------------------------------------

    def _publish(self, committed: Committed) -> None:
        """Commit listener: one frame per new event, to the history and the hub.

        A seq is never skipped silently: if its frame cannot be built or handed out, the
        failure is counted (`publish_errors`, in /metrics) and every fan of the match is made
        to fetch what it missed from the store (Hub.resync), as after any gap.
        """
        match_id = committed.match.id
        self._used[match_id] = True
        self._learn(committed.match)
        if committed.match.private:
            self.private_matches.add(match_id)
        for event, state in zip(committed.acceptance.new_events, committed.acceptance.after):
            try:
                frame: Frame = event_frame(committed.match, event, state)
                self.history.add(frame)
                self.hub.publish(frame)
            except Exception:
                self.publish_errors += 1
                log.exception("publishing event %s of match %s failed: its fans resync from the store",
                              event.seq, match_id)
                self.history.forget(match_id)  # it would have a hole
                self.hub.resync(match_id, event.seq)

    # -- memory over a long uptime ------------------------------------------------------------

    def add_forget_listener(self, listener: Callable[[str], None]) -> None:
        """Call `listener(match_id)` when a match's in-memory state is let go (see `sweep`)."""
        self._forget_listeners.append(listener)

    def sweep(self) -> int:
        """Let go of what is held in memory for matches unused since the previous sweep and
        followed by no live subscriber; returns how many. Everything let go is a cache of the
        store: the next use of the match loads it again. Off the hot path: run every
        `match_idle_seconds / 2` (run_sweeper), so a match goes after at most that long idle.
        """
        forgotten = 0
        for match_id, used in list(self._used.items()):
            if used:
                self._used[match_id] = False
                continue
            if self.hub.subscriber_count(match_id) or not self.store.forget(match_id):
                continue  # followed, or the store has work of it in flight: next time
            del self._used[match_id]
            self.history.forget(match_id)
            self._snapshots.pop(match_id, None)
            self._known.pop(match_id, None)
            self.private_matches.discard(match_id)  # learned again at its next commit
            self.hub.forget(match_id)
            for listener in self._forget_listeners:
                listener(match_id)
            forgotten += 1
        return forgotten

    async def run_sweeper(self, interval: float) -> None:
        """`sweep` every `interval` seconds, for as long as it runs (cancel to stop)."""
        while True:
            await asyncio.sleep(interval)
            try:
                forgotten = self.sweep()
            except Exception:
                log.exception("letting go of idle matches failed; trying again next time")
            else:
                if forgotten:
                    log.debug("let go of %d idle matches", forgotten)


def _nobody_watching(match_id: str) -> int:
    return 0
