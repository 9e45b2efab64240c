"""The score logic: matches, events and the pure fold from an event log to a match state.

Nothing here does I/O or imports anything outside the standard library, so every store
(SQLite, Redis) runs the same rules and the rules can be tested without a server.
"""
from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from .errors import IdConflict, InvalidEvent, MatchClosed, SeqConflict

MATCH_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

STATUSES = ("scheduled", "live", "half_time", "finished", "postponed", "abandoned")
CLOSED_STATUSES = frozenset({"finished", "abandoned"})
EVENT_TYPES = (
    "period_start", "period_end", "goal", "points", "card", "notification", "status", "retract",
)
# Events a closed match still accepts: corrections of the record and announcements.
ALLOWED_WHEN_CLOSED = frozenset({"retract", "notification"})
# Events whose effect on status/period can only be undone by folding the whole log again.
STATUS_EVENTS = frozenset({"period_start", "period_end", "status"})
SIDES = ("home", "away")


def utc_now() -> str:
    """An ISO 8601 UTC timestamp with milliseconds, the one time format we serve."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def slugify(text: str) -> str:
    """A URL-safe match id made from free text ("Argentina v France" -> "argentina-v-france")."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:64].strip("-") or f"{random.getrandbits(48):012x}"


def new_event_id() -> str:
    """A server-made event id. Unique, not secret: the PRNG avoids an OS entropy call per event."""
    return f"srv-{random.getrandbits(128):032x}"


@dataclass(frozen=True)
class Match:
    """What a scorekeeper declares when creating a match; never changes afterwards."""

    id: str
    home: str
    away: str
    starts_at: str | None = None
    created_at: str = field(default_factory=utc_now)
    private: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "home": self.home, "away": self.away, "starts_at": self.starts_at,
            "created_at": self.created_at, "private": self.private,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Match:
        return cls(
            id=data["id"], home=data["home"], away=data["away"], starts_at=data.get("starts_at"),
            created_at=data["created_at"], private=bool(data.get("private", False)),
        )


@dataclass(frozen=True)
class EventDraft:
    """A validated event as a scorekeeper sent it, before it has a place in the log."""

    type: str
    fields: Mapping[str, Any]
    client_id: str | None = None
    expected_seq: int | None = None


@dataclass(frozen=True)
class Event:
    """An accepted event: immutable, numbered, stored forever."""

    seq: int
    id: str
    type: str
    at: str
    fields: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "id": self.id, "type": self.type, "at": self.at, **self.fields}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        fields = {k: v for k, v in data.items() if k not in ("seq", "id", "type", "at")}
        return cls(seq=data["seq"], id=data["id"], type=data["type"], at=data["at"], fields=fields)

    def same_as(self, draft: EventDraft) -> bool:
        """Whether a retried draft describes this event (the idempotency check)."""
        if draft.type != self.type:
            return False
        if self.type == "retract":
            # We store the resolved `target` seq beside whatever the client named.
            named = {k: v for k, v in self.fields.items() if k in draft.fields}
            return named == dict(draft.fields)
        return dict(self.fields) == dict(draft.fields)


@dataclass(frozen=True)
class MatchState:
    """Everything a fan sees of a match, derived from its log and nothing else."""

    status: str = "scheduled"
    period: int = 0
    home: int = 0
    away: int = 0
    seq: int = 0
    retracted: frozenset[int] = frozenset()

    @property
    def score(self) -> dict[str, int]:
        return {"home": self.home, "away": self.away}

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES


def match_view(match: Match, state: MatchState) -> dict[str, Any]:
    """The one public shape of a match (API, snapshots, pages)."""
    return {
        **match.to_dict(),
        "status": state.status,
        "period": state.period,
        "score": state.score,
        "seq": state.seq,
        "retracted": sorted(state.retracted),
    }


def apply(state: MatchState, event: Event) -> MatchState:
    """The effect of one counting event on the state; retracts are handled by `fold`."""
    return _applied(state, event, state.seq)


def _applied(state: MatchState, event: Event, seq: int) -> MatchState:
    """`apply`, with the state's seq set to `seq` in the same step: one new state per event on
    the ingest path instead of two (dataclasses.replace costs ~2 µs a call)."""
    f = event.fields
    status, period, home, away = state.status, state.period, state.home, state.away
    if event.type == "period_start":
        status, period = "live", int(f.get("period") or period + 1)
    elif event.type == "period_end":
        status = "finished" if f.get("final") else "half_time"
    elif event.type == "status":
        status = f["status"]
    elif event.type in ("goal", "points"):
        gained = int(f.get("value", 1))
        if f["team"] == "home":
            home += gained
        else:
            away += gained
    elif seq == state.seq:
        return state  # card, notification: recorded, no effect on the score
    return MatchState(status=status, period=period, home=home, away=away, seq=seq, retracted=state.retracted)


def fold(events: Iterable[Event]) -> MatchState:
    """The state of a match from its whole log, in seq order; retracted events do not count."""
    log = list(events)
    retracted = frozenset(int(e.fields["target"]) for e in log if e.type == "retract")
    state = MatchState()
    for event in log:
        if event.type != "retract" and event.seq not in retracted:
            state = apply(state, event)
    return replace(state, seq=log[-1].seq if log else 0, retracted=retracted)


class NeedsFullLog(Exception):
    """Raised by `accept` when a retract undoes a status change: call again with `log`."""


@dataclass(frozen=True)
class Known:
    """The events of the log that a batch refers to (by seq or client id), loaded by the store."""

    by_seq: Mapping[int, Event] = field(default_factory=dict)
    by_id: Mapping[str, Event] = field(default_factory=dict)


def references(drafts: Sequence[EventDraft]) -> tuple[set[int], set[str]]:
    """The seqs and client ids a store must look up before calling `accept`."""
    seqs: set[int] = set()
    ids: set[str] = set()
    for draft in drafts:
        if draft.client_id:
            ids.add(draft.client_id)
        if draft.type == "retract":
            if "target" in draft.fields:
                seqs.add(int(draft.fields["target"]))
            if "target_id" in draft.fields:
                ids.add(str(draft.fields["target_id"]))
    return seqs, ids


@dataclass(frozen=True)
class Acceptance:
    """What a batch did: one result per draft (the event and whether it is new), the new state."""

    results: list[tuple[Event, bool]]
    state: MatchState
    # The state right after each new event, aligned with `new_events`: what fans are sent.
    after: list[MatchState] = field(default_factory=list)

    @property
    def new_events(self) -> list[Event]:
        return [event for event, created in self.results if created]

    @property
    def created(self) -> bool:
        return any(created for _, created in self.results)


def accept(
    state: MatchState,
    drafts: Sequence[EventDraft],
    known: Known,
    now: str | None = None,
    log: Sequence[Event] | None = None,
) -> Acceptance:
    """Number and check a batch against the current state; all of it is accepted or none.

    Raises InvalidEvent, MatchClosed, SeqConflict or IdConflict for the first draft that fails,
    and NeedsFullLog when a retract undoes a status change and `log` was not given.
    """
    at = now or utc_now()
    by_seq = dict(known.by_seq)
    by_id = dict(known.by_id)
    full_log = list(log) if log is not None else None
    results: list[tuple[Event, bool]] = []
    after: list[MatchState] = []
    for index, draft in enumerate(drafts):
        if draft.client_id and draft.client_id in by_id:
            original = by_id[draft.client_id]
            if not original.same_as(draft):
                raise IdConflict(
                    f"event id {draft.client_id!r} was already used for a different event",
                    {str(index): ["id already used for a different event"]},
                )
            results.append((original, False))
            continue
        if draft.expected_seq is not None and draft.expected_seq != state.seq:
            raise SeqConflict(
                f"expected seq {draft.expected_seq} but the log is at {state.seq}",
                {"expected_seq": [f"the log is at {state.seq}"]},
            )
        fields = dict(draft.fields)
        _check_allowed(state, draft, index)
        if draft.type == "retract":
            target = _retract_target(draft, by_seq, by_id, state, index)
            fields["target"] = target.seq
            by_seq[target.seq] = target
        event = Event(
            seq=state.seq + 1, id=draft.client_id or new_event_id(),
            type=draft.type, at=at, fields=fields,
        )
        if full_log is not None:
            full_log.append(event)
        state = _advance(state, event, by_seq, full_log)
        by_seq[event.seq] = event
        by_id[event.id] = event
        results.append((event, True))
        after.append(state)
    return Acceptance(results=results, state=state, after=after)


def _check_allowed(state: MatchState, draft: EventDraft, index: int) -> None:
    if state.closed and draft.type not in ALLOWED_WHEN_CLOSED:
        raise MatchClosed(f"the match is {state.status}: only retract and notification are accepted")
    if draft.type == "period_start" and state.status == "live":
        raise InvalidEvent(
            f"period {state.period} is still running: end it before starting another",
            {"type": ["a period is already running"]},
        )
    if draft.type == "period_end" and state.status != "live":
        raise InvalidEvent("no period is running", {"type": ["no period is running"]})
    if draft.type == "period_start" and "period" in draft.fields:
        if int(draft.fields["period"]) < state.period:
            raise InvalidEvent(
                f"period {draft.fields['period']} comes before the current period {state.period}",
                {"period": [f"must be at least {state.period}"]},
            )


def _retract_target(
    draft: EventDraft, by_seq: Mapping[int, Event], by_id: Mapping[str, Event],
    state: MatchState, index: int,
) -> Event:
    if "target" in draft.fields:
        target = by_seq.get(int(draft.fields["target"]))
        where = "target"
    else:
        target = by_id.get(str(draft.fields.get("target_id")))
        where = "target_id"
    if target is None:
        raise InvalidEvent("the event to retract does not exist", {where: ["no such event"]})
    if target.type == "retract":
        raise InvalidEvent("a retract cannot be retracted", {where: ["is a retract"]})
    if target.seq in state.retracted:
        raise InvalidEvent(
            f"event {target.seq} is already retracted", {where: ["already retracted"]},
        )
    return target


def _advance(
    state: MatchState, event: Event, by_seq: Mapping[int, Event], log: list[Event] | None,
) -> MatchState:
    """The state after one new event, without refolding the log unless a status is undone."""
    if event.type != "retract":
        return _applied(state, event, event.seq)
    target = by_seq[int(event.fields["target"])]
    if target.type in STATUS_EVENTS:
        if log is None:
            raise NeedsFullLog()
        return fold(log)
    state = replace(state, seq=event.seq, retracted=state.retracted | {target.seq})
    if target.type in ("goal", "points"):
        lost = int(target.fields.get("value", 1))
        if target.fields["team"] == "home":
            return replace(state, home=state.home - lost)
        return replace(state, away=state.away - lost)
    return state
