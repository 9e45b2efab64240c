"""The rules: the pure fold from an event log to a match state, and `accept`, which checks and
numbers a batch of new events against the current state.

Time comes only from the events themselves (each carries the server's `at`) and from
`accept`'s `now`: the clock is folded like the score, so a state is the same wherever and
whenever it is computed.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import IdConflict, InvalidEvent, SeqConflict
from .model import Clock, Event, EventDraft, Kick, MatchState, Shootout, new_event_id, utc_now
from .rules import TIMED_EVENTS, check_allowed
from .sports import SportProfile

# Events whose effect (status, period, clock, board) can only be undone by folding the log again.
STATUS_EVENTS = frozenset({"period_start", "period_end", "status", "clock", "added_time"})


def apply(state: MatchState, event: Event, profile: SportProfile) -> MatchState:
    """The effect of one counting event on the state; retracts are handled by `fold`."""
    return _applied(state, event, state.seq, profile)


def _applied(state: MatchState, event: Event, seq: int, profile: SportProfile) -> MatchState:
    """`apply`, with the state's seq set to `seq` in the same step: one new state per event on
    the ingest path instead of two (dataclasses.replace costs ~2 µs a call)."""
    kind = event.type
    f = event.fields
    if kind == "goal" or kind == "points":  # the hot path: only the score moves
        gained = int(f.get("value", 1))
        home, away = (state.home + gained, state.away) if f["team"] == "home" else (state.home, state.away + gained)
        return MatchState(state.status, state.period, home, away, seq, state.retracted,
                          state.clock, state.added_time, state.shootout)
    status, period, clock = state.status, state.period, state.clock
    added, shootout = state.added_time, state.shootout
    if kind == "period_start":
        status, added = "live", None
        previous, period = period, int(f.get("period") or period + 1)
        if profile.is_shootout(period):
            clock = Clock(False, clock.reading(event.at), event.at)  # no clock in a shootout
            shootout = shootout or Shootout(after_period=previous)
        else:
            clock = Clock(True, float(profile.period_start(period)), event.at)
    elif kind == "period_end":
        clock = Clock(False, _capped(profile, period, clock.reading(event.at)), event.at)
        final = f.get("final") or period == profile.last_period
        status = "finished" if final else "half_time"
    elif kind == "clock":
        action = f["action"]
        if action == "set":
            clock = Clock(clock.running, float(f["elapsed"]), event.at)
        else:
            clock = Clock(action == "start", _capped(profile, period, clock.reading(event.at)), event.at)
    elif kind == "added_time":
        added = int(f["minutes"])
    elif kind == "shootout_kick":
        base = shootout or Shootout(after_period=period)
        shootout = base.with_kick(Kick(event.seq, f["team"], f.get("player"), bool(f["scored"])))
    elif kind == "status":
        status = f["status"]
        if clock.running:
            clock = Clock(False, _capped(profile, period, clock.reading(event.at)), event.at)
    elif seq == state.seq:
        return state  # card, substitution, notification: recorded, nothing else changes
    return MatchState(status, period, state.home, state.away, seq, state.retracted, clock, added, shootout)


def _capped(profile: SportProfile, period: int, elapsed: float) -> float:
    """A countdown clock stops at 0:00, i.e. at its period's end; football's runs on."""
    if profile.countdown and period > 0:
        return min(elapsed, float(profile.period_end(period)))
    return elapsed


def fold(events: Iterable[Event], profile: SportProfile) -> MatchState:
    """The state of a match from its whole log, in seq order; retracted events do not count."""
    log = list(events)
    retracted = frozenset(int(e.fields["target"]) for e in log if e.type == "retract")
    state = MatchState()
    for event in log:
        if event.type != "retract" and event.seq not in retracted:
            state = apply(state, event, profile)
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
    *,
    profile: SportProfile,
) -> Acceptance:
    """Number and check a batch against the current state; all of it is accepted or none.

    Timed events (goal, points, card, substitution) are stamped with the period and, when they
    leave it out, the minute the clock shows at `now` (basketball: `elapsed` seconds), plus the
    `minute_label` fans read. Raises InvalidEvent, NotInPlay, MatchClosed, SeqConflict or
    IdConflict for the first draft that fails, and NeedsFullLog when a retract undoes a status
    or clock change and `log` was not given.
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
        check_allowed(state, draft, profile)
        fields = dict(draft.fields)
        if draft.type in TIMED_EVENTS:
            _stamp(fields, state, profile, at)
        elif draft.type == "retract":
            target = _retract_target(draft, by_seq, by_id, state)
            fields["target"] = target.seq
            by_seq[target.seq] = target
        event = Event(
            seq=state.seq + 1, id=draft.client_id or new_event_id(),
            type=draft.type, at=at, fields=fields,
        )
        if full_log is not None:
            full_log.append(event)
        state = _advance(state, event, by_seq, full_log, profile)
        by_seq[event.seq] = event
        by_id[event.id] = event
        results.append((event, True))
        after.append(state)
    return Acceptance(results=results, state=state, after=after)


def _stamp(fields: dict[str, Any], state: MatchState, profile: SportProfile, at: str) -> None:
    """Give a timed event its period, its minute from the clock when left out, and its label."""
    period = fields.get("period") or state.period
    fields["period"] = period
    clock = state.clock
    if period == state.period and clock.at is not None:
        if profile.countdown:
            if fields.get("elapsed") is None:
                fields["elapsed"] = int(_capped(profile, period, clock.reading(at)))
        elif fields.get("minute") is None:
            fields["minute"] = min(profile.clock_minute(clock.reading(at)), 300)
    label = profile.minute_label(period, fields.get("minute"), fields.get("elapsed"))
    if label is not None:
        fields["minute_label"] = label


def _retract_target(
    draft: EventDraft, by_seq: Mapping[int, Event], by_id: Mapping[str, Event], state: MatchState,
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
    profile: SportProfile,
) -> MatchState:
    """The state after one new event, without refolding the log unless a status is undone."""
    if event.type != "retract":
        return _applied(state, event, event.seq, profile)
    target = by_seq[int(event.fields["target"])]
    if target.type in STATUS_EVENTS:
        if log is None:
            raise NeedsFullLog()
        return fold(log, profile)
    state = replace(state, seq=event.seq, retracted=state.retracted | {target.seq})
    if target.type in ("goal", "points"):
        lost = int(target.fields.get("value", 1))
        if target.fields["team"] == "home":
            return replace(state, home=state.home - lost)
        return replace(state, away=state.away - lost)
    if target.type == "shootout_kick" and state.shootout is not None:
        return replace(state, shootout=state.shootout.without(target.seq))
    return state
