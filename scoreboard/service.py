"""ScoreService: the one place the web edge talks to. Ingest goes store (durable) -> hub.

It knows nothing of HTTP: handlers pass validated drafts in and get plain dicts back.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .domain import (
    EventDraft, Match, MatchState, competitions, filter_games, match_view, name_slug, slugify, standings,
)
from .errors import CompetitionNotFound, MatchNotFound
from .frames import Frame, FrameHistory, dumps, event_frame, frames_from_log, snapshot_message
from .hub import Hub
from .store.base import Committed, EventStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatchUp:
    """What a fan is sent on (re)subscribing: a snapshot, or the frames it missed."""

    snapshot: str | None
    frames: list[Frame]
    seq: int  # where the fan stands afterwards


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
        # match id -> (seq, snapshot JSON): after a restart thousands of fans reconnect at once
        # and most want the same snapshot (~0.3 ms to build for a 200-event match).
        self._snapshots: dict[str, tuple[int, str]] = {}
        # Ids of private matches seen committing: a wildcard fan must not get their frames
        # unless granted (web/live/session.py). Learned before each publish, whichever instance wrote.
        self.private_matches: set[str] = set()
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
        await self.store.create_match(match)
        return await self.get_match(match.id)

    async def ingest(self, match_id: str, drafts: list[EventDraft]) -> IngestResult:
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
        match, state = await self.store.get(match_id)
        return match_view(match, state)

    async def events_since(self, match_id: str, since: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        return [event.to_dict() for event in await self.store.events_since(match_id, since, limit)]

    async def catch_up(self, match_id: str, since: int | None) -> CatchUp:
        """The events after `since` when they are still at hand, else a snapshot.

        Raises MatchNotFound.
        """
        match, state = await self.store.get(match_id)
        if since is None or since > state.seq or state.seq - since > self.snapshot_events:
            # No cursor, a cursor from another life of the log, or a gap too long to replay.
            return CatchUp(await self._snapshot(match, state), [], state.seq)
        frames = self.history.since(match_id, since)
        if frames is None:
            log_events = await self.store.events_since(match_id, 0, state.seq)
            rebuilt = frames_from_log(match, log_events)
            self.history.backfill(match_id, rebuilt)
            frames = [frame for frame in rebuilt if frame.seq > since]
        return CatchUp(None, frames, frames[-1].seq if frames else since)

    async def _snapshot(self, match: Match, state: MatchState) -> str:
        """The snapshot message as of `state`, built once per seq of each match."""
        cached = self._snapshots.get(match.id)
        if cached is not None and cached[0] == state.seq:
            return cached[1]
        tail = await self.store.tail(match.id, self.snapshot_events)
        text = dumps(snapshot_message(match_view(match, state), tail))
        if (tail[-1].seq if tail else 0) == state.seq:  # not when the log moved on meanwhile
            self._snapshots[match.id] = (state.seq, text)
        return text

    async def exists(self, match_id: str) -> bool:
        try:
            await self.store.get(match_id)
        except MatchNotFound:
            return False
        return True

    # -- fan-out -----------------------------------------------------------------------------

    def _publish(self, committed: Committed) -> None:
        match_id = committed.match.id
        if committed.match.private:
            self.private_matches.add(match_id)
        for event, state in zip(committed.acceptance.new_events, committed.acceptance.after):
            frame: Frame = event_frame(committed.match, event, state)
            self.history.add(frame)
            self.hub.publish(frame)
