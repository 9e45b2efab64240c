"""Playing a match through the pure rules, the way a store does, at chosen instants."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from scoreboard.domain import (
    FOOTBALL, Acceptance, Event, EventDraft, Known, MatchState, NeedsFullLog, SportProfile, accept,
    fold,
)

KICKOFF = datetime(2022, 12, 18, 15, 0, tzinfo=timezone.utc)


def at(seconds: float) -> str:
    """The server timestamp `seconds` after a fixed kickoff instant."""
    moment = KICKOFF + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def draft(kind: str, client_id: str | None = None, expected_seq: int | None = None, **fields: Any) -> EventDraft:
    return EventDraft(kind, fields, client_id, expected_seq)


def run(drafts: list[EventDraft], state: MatchState = MatchState(), log: list[Event] | None = None,
        profile: SportProfile = FOOTBALL, now: str | None = None) -> Acceptance:
    """Accept a batch against a log, the way a store does (known events looked up in `log`)."""
    log = list(log or [])
    known = Known(by_seq={e.seq: e for e in log}, by_id={e.id: e for e in log})
    try:
        return accept(state, drafts, known, now, profile=profile)
    except NeedsFullLog:
        return accept(state, drafts, known, now, log=log, profile=profile)


class Game:
    """One match played through `accept`, batch by batch, each at an instant on a fixed day."""

    def __init__(self, profile: SportProfile = FOOTBALL) -> None:
        self.profile = profile
        self.log: list[Event] = []
        self.state = MatchState()

    def post(self, *drafts: EventDraft, t: float = 0.0) -> Acceptance:
        acceptance = run(list(drafts), self.state, self.log, self.profile, at(t))
        self.log.extend(acceptance.new_events)
        self.state = acceptance.state
        return acceptance

    def event(self, kind: str, t: float = 0.0, **fields: Any) -> Event:
        """Post one event at `t` seconds after kickoff instant; return it as stored."""
        return self.post(draft(kind, **fields), t=t).results[0][0]

    def refold(self) -> MatchState:
        return fold(self.log, self.profile)
