"""The public shapes of a match: what the API, snapshots, event frames and pages all show.

Labels ("2nd half", "AET", "45+2'") are computed here, once, from the sport profile, so every
page and client shows the same words; clients only add the ticking of the clock.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Match, MatchState, name_slug
from .sports import SportProfile


def decided_by(profile: SportProfile, state: MatchState) -> str | None:
    """`normal_time`, `extra_time` (basketball `overtime`) or `penalties` once finished.

    Penalties decide only a level score: a shootout recorded after a score that was not level
    (a late correction) leaves the match decided in the period played before it.
    """
    if state.status != "finished":
        return None
    shootout = state.shootout
    if shootout is None:
        return profile.decided_by(state.period, False)
    return profile.decided_by(shootout.after_period, state.home == state.away)


def status_label(profile: SportProfile, state: MatchState) -> str:
    """What the match is doing, in the sport's words: "1st half", "Half time", "AET", "Q3"."""
    status = state.status
    if status == "live":
        return profile.live_label(state.period)
    if status == "half_time":
        return profile.break_label(state.period)
    if status == "finished":
        return profile.finished_label(decided_by(profile, state))
    return {"scheduled": "Scheduled", "postponed": "Postponed", "abandoned": "Abandoned"}.get(status, status)


def live_fields(match: Match, state: MatchState, *, sparse: bool = False) -> dict[str, Any]:
    """The part of a match that moves with each event: in every view and event frame.

    `sparse` (event frames, serialized once per event for every fan) leaves out `added_time`,
    `shootout` while there is none and `winner`, `decided_by`, `result` until the end: absent
    means null, and the frame stays small.
    """
    profile = match.profile
    status = state.status
    fields: dict[str, Any] = {
        "status": status,
        "status_label": status_label(profile, state),
        "period": state.period,
        "period_name": profile.period_name(state.period),
        "score": {"home": state.home, "away": state.away},
        "clock": state.clock.to_dict(),
    }
    shootout = state.shootout
    if not sparse or state.added_time is not None:
        fields["added_time"] = state.added_time
    if not sparse or shootout is not None:
        fields["shootout"] = None if shootout is None else shootout.to_dict()
    if status == "finished":
        fields["winner"] = state.winner
        fields["decided_by"] = decided_by(profile, state)
        fields["result"] = result_line(match.home, match.away, fields)
    elif not sparse:
        fields["winner"] = fields["decided_by"] = fields["result"] = None
    return fields


def match_view(match: Match, state: MatchState) -> dict[str, Any]:
    """The one public shape of a match (API, snapshots, pages)."""
    profile = match.profile
    return {
        **match.to_dict(),
        "competition_slug": name_slug(match.competition) if match.competition else None,
        **live_fields(match, state),
        "seq": state.seq,
        "retracted": sorted(state.retracted),
        "countdown": profile.countdown,
        "periods": periods(profile, state.period),
    }


def periods(profile: SportProfile, current: int) -> list[dict[str, Any]]:
    """The periods a match can have (basketball: up to the next overtime), with their clock
    bounds in seconds and the label of the break after each: all a client needs to show the
    ticking minute and to name the next period."""
    last = profile.last_period or max(profile.regular_periods + 1, current + 1)
    return [
        {
            "period": n, "name": profile.period_name(n),
            "start": profile.period_start(n), "end": profile.period_end(n),
            "break": None if n == profile.last_period else profile.break_label(n),
        }
        for n in range(1, last + 1)
    ]


def clock_label(profile: SportProfile, state: MatchState, at: str) -> str | None:
    """The clock as a fan reads it at instant `at` ("67'", "45+3'", "Q3 4:12"), or None when
    no period is being played. Clients compute the same from `clock` as it ticks."""
    if state.status != "live" or state.clock.at is None or profile.is_shootout(state.period):
        return None
    elapsed = state.clock.reading(at)
    if profile.countdown:
        return profile.minute_label(state.period, None, elapsed)
    return profile.minute_label(state.period, profile.clock_minute(elapsed))


def result_line(home: str, away: str, outcome: Mapping[str, Any], dash: str = "–") -> str | None:
    """"Argentina win 4–2 on penalties", "France win after extra time", "Brazil win", "Draw":
    from a view's `winner`, `decided_by` and `shootout`; None before the end."""
    winner = outcome.get("winner")
    if winner == "draw":
        return "Draw"
    if winner not in ("home", "away"):
        return None
    name = home if winner == "home" else away
    how = outcome.get("decided_by")
    shootout = outcome.get("shootout")
    if how == "penalties" and shootout:
        high, low = sorted((int(shootout["home"]), int(shootout["away"])), reverse=True)
        return f"{name} win {high}{dash}{low} on penalties"
    if how == "extra_time":
        return f"{name} win after extra time"
    if how == "overtime":
        return f"{name} win after overtime"
    return f"{name} win"
