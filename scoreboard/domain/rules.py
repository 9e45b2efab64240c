"""What may be posted when: the checks `accept` runs on each draft before it is numbered.

A refusal names what to do instead ("start the first period (period_start)"), because the
reader is a scorekeeper at a console, not a developer.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidEvent, MatchClosed, NotInPlay
from .model import TIMED_EVENTS, EventDraft, MatchState
from .sports import SportProfile

# Events a closed match still accepts: corrections of the record and announcements.
ALLOWED_WHEN_CLOSED = frozenset({"retract", "notification"})
NOT_PLAYING = frozenset({"scheduled", "postponed"})


def check_allowed(state: MatchState, draft: EventDraft, profile: SportProfile) -> None:
    """Raise MatchClosed, InvalidEvent or NotInPlay if `draft` may not be posted now."""
    kind = draft.type
    f = draft.fields
    if state.closed and kind not in ALLOWED_WHEN_CLOSED:
        raise MatchClosed(f"the match is {state.status}: only retract and notification are accepted")
    if kind not in profile.events:
        raise InvalidEvent(_not_in_sport(profile, kind), {"type": [f"not a {profile.sport} event"]})
    if kind == "points" and profile.point_values and f["value"] not in profile.point_values:
        values = ", ".join(str(v) for v in sorted(profile.point_values))
        raise InvalidEvent(
            f"{profile.sport} points are worth {values}", {"value": [f"must be one of {values}"]},
        )
    if kind == "period_start":
        _check_period_start(state, f, profile)
    elif kind == "period_end" and state.status != "live":
        raise InvalidEvent("no period is running", {"type": ["no period is running"]})
    elif kind in TIMED_EVENTS:
        _check_in_play(state, kind, f, profile)
    elif kind == "shootout_kick":
        if state.status != "live" or not profile.is_shootout(state.period):
            raise NotInPlay(
                f"no penalty shootout is running: start it first "
                f"(period_start with period {profile.shootout_period})",
            )
    elif kind == "clock":
        _check_clock(state, f, profile)
    elif kind == "added_time" and (state.status != "live" or profile.is_shootout(state.period)):
        raise NotInPlay("added time is shown while a period is being played: start it first (period_start)")


def _check_period_start(state: MatchState, f: Mapping[str, Any], profile: SportProfile) -> None:
    if state.status == "live":
        raise InvalidEvent(
            f"period {state.period} is still running: end it before starting another",
            {"type": ["a period is already running"]},
        )
    period = int(f.get("period") or state.period + 1)
    if period < state.period:
        raise InvalidEvent(
            f"period {period} comes before the current period {state.period}",
            {"period": [f"must be at least {state.period}"]},
        )
    if period > profile.max_period:
        raise InvalidEvent(
            f"{profile.sport} has periods 1 to {profile.max_period}",
            {"period": [f"must be at most {profile.max_period}"]},
        )


def _check_in_play(state: MatchState, kind: str, f: Mapping[str, Any], profile: SportProfile) -> None:
    if state.period == 0 or state.status in NOT_PLAYING:
        raise NotInPlay(
            f"the match has not started: start the first period (period_start) before posting a {kind}",
        )
    period = f.get("period")
    if profile.is_shootout(state.period) and kind != "card" and period in (None, state.period):
        # A late entry for an earlier period (`period` given) is still a correction of the record.
        raise NotInPlay("the penalty shootout is on: record each penalty with shootout_kick")
    if period is not None and not 1 <= period <= state.period:
        raise InvalidEvent(
            f"period {period} has not been played yet (the match is in period {state.period})",
            {"period": [f"must be between 1 and {state.period}"]},
        )


def _check_clock(state: MatchState, f: Mapping[str, Any], profile: SportProfile) -> None:
    if state.period == 0 or state.status in NOT_PLAYING:
        raise NotInPlay("the clock starts with the first period: send period_start")
    if profile.is_shootout(state.period):
        raise NotInPlay("no clock runs during a penalty shootout")
    action = f["action"]
    if action == "start" and state.status != "live":
        raise NotInPlay("no period is being played: start the next period (period_start)")
    if action == "set" and profile.countdown:
        low, high = profile.period_start(state.period), profile.period_end(state.period)
        if not low <= f["elapsed"] <= high:
            raise InvalidEvent(
                f"{profile.period_name(state.period)} runs from {low} to {high} seconds into the match",
                {"elapsed": [f"must be between {low} and {high}"]},
            )


def _not_in_sport(profile: SportProfile, kind: str) -> str:
    if kind in ("goal", "points"):
        if profile.point_values:
            values = ", ".join(str(v) for v in sorted(profile.point_values))
            return f"{profile.sport} scores with {profile.scoring} events (value {values})"
        return f"{profile.sport} scores with {profile.scoring} events"
    return f"{profile.sport} has no {kind} events"
