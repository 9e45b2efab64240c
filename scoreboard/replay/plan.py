"""From a real-match file to the requests a scorekeeper would send: pure, no I/O.

The input is shaped like ``shared/data/real_matches.json`` (schema in that folder's README).
Each match becomes a `MatchPlan`: the body that creates it (kickoff, competition, stage,
venue) and its steps in match order, one POST each. A step that happens at a moment of play
carries a `clock` `set` to the data's time before its event, so whatever the replay speed the
clock a page shows, the stored minutes and where each period ended are the data's.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Score = dict[str, int]
SourceEvent = Mapping[str, Any]

# The service's id rule (docs/architecture.md): ^[a-z0-9][a-z0-9-]{0,63}$.
MAX_SLUG_LEN = 64
# A shootout is not timed in the data: pace it at a kick a minute (as on television).
SECONDS_PER_KICK = 60
EXTRA_TIME_PERIODS = frozenset({3, 4})


class ReplayDataError(ValueError):
    """The input file does not follow the real-match schema."""


@dataclass(frozen=True)
class Step:
    """One POST: the events of one moment of the match, in order (all stored or none).

    `pace` is seconds of play since kickoff on a continuous line (no breaks between periods;
    the data has none), used to space the steps at a given speed.
    """

    pace: float
    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class MatchPlan:
    """Everything needed to replay one match, and what the service must report afterwards."""

    match_id: str
    home: str
    away: str
    create: dict[str, Any]
    expected: Score
    steps: tuple[Step, ...]
    winner: str
    decided_by: str
    shootout: Score | None = None
    notes: tuple[str, ...] = ()

    @property
    def events(self) -> tuple[dict[str, Any], ...]:
        """Every event of every step, in the order posted."""
        return tuple(event for step in self.steps for event in step.events)

    @property
    def shootout_replayed(self) -> bool:
        return any(event["type"] == "shootout_kick" for event in self.events)


def event_order_key(event: SourceEvent) -> tuple[int, int, int]:
    """Sort key for source events.

    The match clock keeps running through stoppage time (a first half can end at 51:23 while
    the second half kicks off at 45:00), so the clock alone is not monotonic: period first.
    """
    return (int(event["period"]), int(event["minute"]), int(event["second"]))


def order_events(events: Sequence[SourceEvent]) -> list[SourceEvent]:
    """Return the events in match order; the sort is stable, so ties keep the file's order."""
    return sorted(events, key=event_order_key)


def timeline(events: Sequence[SourceEvent], substitutions: Sequence[SourceEvent]) -> list[tuple[str, SourceEvent]]:
    """Events and substitutions merged as the data's README says: by (period, minute, second),
    a substitution after the other events of its second, substitutions of a second in order."""
    tagged = [(event_order_key(e), 0, i, "event", e) for i, e in enumerate(events)]
    tagged += [(event_order_key(s), 1, i, "substitution", s) for i, s in enumerate(substitutions)]
    return [(kind, item) for _, _, _, kind, item in sorted(tagged, key=lambda t: t[:3])]


def slugify(text: str) -> str:
    """Lower-case ASCII slug: accents folded, every other run of characters becomes one dash."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def match_slug(date: str, home: str, away: str, prefix: str = "") -> str:
    """A stable match id from date and teams, so a re-run finds the match it created before.

    The prefix lets several replays of the same file live side by side (tests, demos).
    """
    slug = "-".join(part for part in (slugify(prefix), slugify(date), slugify(home), slugify(away)) if part)
    slug = slug[:MAX_SLUG_LEN].rstrip("-")
    if not slug:
        raise ReplayDataError(f"cannot make a match id from {date!r}, {home!r}, {away!r}")
    return slug


def display_minute(event: SourceEvent) -> int:
    """The minute a scoreboard shows: the clock at 22:24 is the 23rd minute, shown as 23'."""
    return int(event["minute"]) + 1


def clock_seconds(event: SourceEvent) -> int:
    return int(event["minute"]) * 60 + int(event["second"])


def to_service_event(event: SourceEvent) -> dict[str, Any]:
    """Map one source event to the service's event body (without its client id)."""
    kind = event.get("type")
    if kind == "kickoff":
        return {"type": "period_start", "period": int(event["period"])}
    if kind == "half_time":
        return {"type": "period_end"}
    if kind == "full_time":
        return {"type": "period_end", "final": True}
    if kind == "goal":
        return {
            "type": "goal",
            "team": event["team"],
            "player": event.get("player"),
            "minute": display_minute(event),
            "own_goal": bool(event.get("own_goal", False)),
            "penalty": bool(event.get("penalty", False)),
        }
    if kind in ("yellow_card", "red_card"):
        if kind == "yellow_card":
            color = "yellow"
        else:
            color = "second_yellow" if event.get("second_yellow") else "red"
        return {
            "type": "card",
            "team": event["team"],
            "player": event.get("player"),
            "color": color,
            "minute": display_minute(event),
        }
    raise ReplayDataError(f"unknown event type {kind!r}")


def substitution_event(sub: SourceEvent) -> dict[str, Any]:
    return {
        "type": "substitution", "team": sub["team"], "player_in": str(sub["player_in"]),
        "player_out": str(sub["player_out"]), "minute": display_minute(sub),
    }


def kick_event(kick: SourceEvent) -> dict[str, Any]:
    return {"type": "shootout_kick", "team": kick["team"], "player": kick.get("player"),
            "scored": bool(kick["scored"])}


def event_client_id(match_id: str, index: int) -> str:
    """The idempotency id of the index-th event posted: a re-run resends the same ids."""
    return f"replay-{match_id}-{index}"


def _compact(body: dict[str, Any]) -> dict[str, Any]:
    """Optional fields the data lacks are left out rather than sent as null."""
    return {key: value for key, value in body.items() if value is not None}


@dataclass
class _Builder:
    """Accumulates steps with their pace, numbering events as they are added."""

    match_id: str
    steps: list[Step] = field(default_factory=list)
    count: int = 0
    pace: float = 0.0
    period: int = 0
    period_clock: int = 0

    def at(self, period: int, clock: int) -> None:
        """Move the pace line to `clock` on the data's clock (periods are played back to back)."""
        if period != self.period:
            self.period, self.period_clock = period, clock
        self.pace += max(0, clock - self.period_clock)
        self.period_clock = max(self.period_clock, clock)

    def add(self, *bodies: dict[str, Any]) -> None:
        events = []
        for body in bodies:
            events.append({"id": event_client_id(self.match_id, self.count), **_compact(body)})
            self.count += 1
        self.steps.append(Step(self.pace, tuple(events)))


def _steps(match_id: str, record: Mapping[str, Any], kicks: Sequence[SourceEvent]) -> list[Step]:
    build = _Builder(match_id)
    merged = timeline(record["events"], record.get("substitutions") or [])
    for kind, item in merged:
        period, clock = int(item["period"]), clock_seconds(item)
        build.at(period, clock)
        if kind == "substitution":
            build.add({"type": "clock", "action": "set", "elapsed": clock}, substitution_event(item))
            continue
        body = to_service_event(item)
        if body["type"] == "period_start":
            build.add(body)  # the service starts the clock at the period's own offset
            continue
        if body.get("final") and kicks:
            body = {"type": "period_end"}  # the shootout follows, and its end is the final whistle
        build.add({"type": "clock", "action": "set", "elapsed": clock}, body)
    if kicks:
        build.pace += SECONDS_PER_KICK
        build.add({"type": "period_start", "period": 5})
        for kick in kicks:
            build.pace += SECONDS_PER_KICK
            build.add(kick_event(kick))
        build.add({"type": "period_end", "final": True})
    return build.steps


def _outcome(final: Score, shootout: Score | None, extra_time: bool) -> tuple[str, str]:
    """(winner, decided_by) the service must report for a recorded result."""
    if final["home"] != final["away"]:
        winner = "home" if final["home"] > final["away"] else "away"
    elif shootout is not None and shootout["home"] != shootout["away"]:
        winner = "home" if shootout["home"] > shootout["away"] else "away"
    else:
        winner = "draw"
    if shootout is not None:
        return winner, "penalties"
    return winner, "extra_time" if extra_time else "normal_time"


def plan_match(record: Mapping[str, Any], prefix: str = "") -> MatchPlan:
    """Turn one match record of the data file into the requests to send, in order."""
    if not isinstance(record, Mapping):
        raise ReplayDataError(f"expected a match object, got {type(record).__name__}")
    try:
        home, away = str(record["home"]), str(record["away"])
        match_id = match_slug(str(record["date"]), home, away, prefix)
        final = {"home": int(record["final"]["home"]), "away": int(record["final"]["away"])}
        recorded = record.get("shootout")
        shootout = None if recorded is None else {"home": int(recorded["home"]), "away": int(recorded["away"])}
        kicks = list(record.get("shootout_kicks") or [])
        notes = []
        if shootout is not None and not kicks:
            notes.append("the file records a shootout but not its kicks: the shootout is not replayed")
        steps = _steps(match_id, record, kicks)
        extra_time = any(int(e["period"]) in EXTRA_TIME_PERIODS for e in record["events"])
        winner, decided_by = _outcome(final, shootout if kicks else None, extra_time)
        create = _compact({
            "id": match_id, "home": home, "away": away, "starts_at": record.get("kickoff_utc"),
            "competition": record.get("competition"), "stage": record.get("stage"),
            "venue": record.get("venue"),
        })
        return MatchPlan(match_id, home, away, create, final, tuple(steps), winner, decided_by,
                         shootout, tuple(notes))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ReplayDataError):
            raise
        raise ReplayDataError(f"match {record.get('match_id', '?')}: {exc!r}") from exc


def schedule(plan: MatchPlan, speed: float | None) -> list[float]:
    """Seconds after the replay of `plan` starts at which each step is due: the data's time of
    play divided by `speed` (1 = real time), or all at once when `speed` is None."""
    if speed is None:
        return [0.0] * len(plan.steps)
    if speed <= 0:
        raise ValueError("speed must be positive")
    return [step.pace / speed for step in plan.steps]


def load_plans(text: str, prefix: str = "") -> list[MatchPlan]:
    """Parse a data file's text into one plan per match; duplicate match ids are an error."""
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayDataError(f"not JSON: {exc}") from exc
    if not isinstance(records, list):
        raise ReplayDataError("expected a JSON list of matches")
    plans = [plan_match(record, prefix) for record in records]
    ids = [plan.match_id for plan in plans]
    if len(set(ids)) != len(ids):
        raise ReplayDataError("two matches map to the same id; use distinct dates or teams")
    return plans


def format_score(score: Score | None) -> str:
    """`3-3`, or `?` when the service gave no score."""
    return "?" if score is None else f"{score['home']}-{score['away']}"
