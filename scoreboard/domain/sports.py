"""Sport profiles: how a sport divides a match into periods, runs its clock and scores.

A profile answers every sport-specific question the fold, the views and the pages ask (when
period 3 starts on the clock, what "half_time" after period 2 reads as, whether `points` of 4
are allowed), so the rest of the domain never says "if football".

Football: halves 1-2 (45'), extra time 3-4 (15'), period 5 is the penalty shootout; the clock
counts up from 0, 45, 90, 105 and runs on through stoppage time. Basketball: quarters 1-4
(FIBA 10', NBA 12' by override), overtime 5+ (5'); the clock counts down and stops at 0:00.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

SPORTS = ("football", "basketball")
# Events every sport takes; each profile adds its own.
COMMON_EVENTS = frozenset({
    "period_start", "period_end", "clock", "notification", "status", "retract",
})


@dataclass(frozen=True)
class SportProfile:
    sport: str
    regular_periods: int
    period_minutes: int
    extra_minutes: int
    extra_periods: int | None  # None: as many overtimes as it takes
    shootout_period: int | None
    countdown: bool  # the clock shows time left in the period and stops at 0:00
    scoring: str  # the event type that changes the score
    point_values: frozenset[int] | None  # allowed `value`s of `points`, None: any
    events: frozenset[str]
    table_points: tuple[int, int, int]  # standings points for a win, a draw, a loss
    decided_after_extra: str  # decided_by for a match settled in extra periods
    # period -> (name, live label, break label), made once: every event frame asks for them.
    _labels: dict[int, tuple[str, str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_labels", {})  # the builders below look it up first
        labels = {
            period: (self._period_name(period), self._live_label(period), self._break_label(period))
            for period in range(0, self.max_period + 1)
        }
        object.__setattr__(self, "_labels", labels)

    # -- periods -----------------------------------------------------------------------------

    @property
    def last_period(self) -> int | None:
        """The highest period this sport has (its end always ends the match), or None."""
        if self.shootout_period is not None:
            return self.shootout_period
        if self.extra_periods is None:
            return None
        return self.regular_periods + self.extra_periods

    @property
    def max_period(self) -> int:
        """The highest period a scorekeeper may start (overtimes are capped at 20 periods)."""
        return self.last_period or 20

    def is_shootout(self, period: int) -> bool:
        return period == self.shootout_period

    def is_extra(self, period: int) -> bool:
        return period > self.regular_periods and not self.is_shootout(period)

    def period_start(self, period: int) -> int:
        """Seconds into the match at which `period`'s clock starts (the shootout's: the end
        of the last period of play)."""
        regular = self.regular_periods
        if period <= regular:
            return (max(period, 1) - 1) * self.period_minutes * 60
        return (regular * self.period_minutes + (period - regular - 1) * self.extra_minutes) * 60

    def period_length(self, period: int) -> int:
        if self.is_shootout(period):
            return 0
        return (self.period_minutes if period <= self.regular_periods else self.extra_minutes) * 60

    def period_end(self, period: int) -> int:
        return self.period_start(period) + self.period_length(period)

    # -- words fans read ---------------------------------------------------------------------

    def period_name(self, period: int) -> str:
        """The period's name: "1st half", "Extra time 2nd half", "Penalty shootout"; "Q3", "2OT"."""
        known = self._labels.get(period)
        return known[0] if known else self._period_name(period)

    def live_label(self, period: int) -> str:
        """The status fans read while `period` is played: "2nd half", "Extra time", "Penalties", "Q3"."""
        known = self._labels.get(period)
        return known[1] if known else self._live_label(period)

    def break_label(self, period: int) -> str:
        """The status fans read after `period` ended and before the next: "Half time", ..."""
        known = self._labels.get(period)
        return known[2] if known else self._break_label(period)

    def _period_name(self, period: int) -> str:
        if period <= 0:
            return ""
        if self.sport == "basketball":
            if period <= self.regular_periods:
                return f"Q{period}"
            overtime = period - self.regular_periods
            return "OT" if overtime == 1 else f"{overtime}OT"
        if self.is_shootout(period):
            return "Penalty shootout"
        if period <= self.regular_periods:
            return _ordinal(period) + " half"
        return "Extra time " + _ordinal(period - self.regular_periods) + " half"

    def _live_label(self, period: int) -> str:
        if self.sport == "football":
            if self.is_shootout(period):
                return "Penalties"
            if self.is_extra(period):
                return "Extra time"
        return self.period_name(period)

    def _break_label(self, period: int) -> str:
        if self.sport == "football":
            labels = {1: "Half time", 2: "End of normal time", 3: "Extra time half time",
                      4: "End of extra time"}
            return labels.get(period, "Break")
        if period * 2 == self.regular_periods:
            return "Half time"
        return f"End of {self.period_name(period)}" if period > 0 else ""

    def finished_label(self, decided_by: str | None) -> str:
        """"Full time", "AET", "Pens"; basketball "Final", "Final/OT"."""
        if self.sport == "basketball":
            return "Final/OT" if decided_by == "overtime" else "Final"
        return {"extra_time": "AET", "penalties": "Pens"}.get(decided_by or "", "Full time")

    def decided_by(self, last_played: int, by_penalties: bool) -> str:
        """How a finished match was settled: `last_played` is the last period of play."""
        if by_penalties:
            return "penalties"
        if last_played > self.regular_periods:
            return self.decided_after_extra
        return "normal_time"

    def minute_label(self, period: int | None, minute: int | None, elapsed: float | None = None) -> str | None:
        """A timed event's time as fans read it: 23', 45+2', 120+3' (a minute past its period's
        end shows as end+over); basketball "Q3 4:12" (time left). None when nothing is known."""
        if self.countdown:
            name = self.period_name(period) if period else ""
            if elapsed is not None and period:
                left = int(max(0, min(self.period_end(period) - elapsed, self.period_length(period))))
                return f"{name} {left // 60}:{left % 60:02d}"
            if minute is not None:
                return f"{name} {minute}'".strip()
            return name or None
        if minute is None:
            return None
        if period and not self.is_shootout(period):
            end = self.period_end(period) // 60
            if minute > end:
                return f"{end}+{minute - end}'"
        return f"{minute}'"

    def clock_minute(self, elapsed: float) -> int:
        """The football minute of a clock reading: 22:14 is the 23rd minute (23')."""
        return int(elapsed // 60) + 1


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


FOOTBALL = SportProfile(
    sport="football", regular_periods=2, period_minutes=45, extra_minutes=15, extra_periods=2,
    shootout_period=5, countdown=False, scoring="goal", point_values=None,
    events=COMMON_EVENTS | {"goal", "card", "substitution", "shootout_kick", "added_time"},
    table_points=(3, 1, 0), decided_after_extra="extra_time",
)
# FIBA: a win 2 points, a loss 1 (a forfeit 0) in group tables.
BASKETBALL = SportProfile(
    sport="basketball", regular_periods=4, period_minutes=10, extra_minutes=5, extra_periods=None,
    shootout_period=None, countdown=True, scoring="points", point_values=frozenset({1, 2, 3}),
    events=COMMON_EVENTS | {"points", "substitution"},
    table_points=(2, 0, 1), decided_after_extra="overtime",
)
PROFILES = {profile.sport: profile for profile in (FOOTBALL, BASKETBALL)}


@lru_cache(maxsize=64)
def profile_for(sport: str, period_minutes: int | None = None, extra_minutes: int | None = None) -> SportProfile:
    """The profile of `sport` with a match's own period lengths; raises KeyError for an unknown sport."""
    base = PROFILES[sport]
    if period_minutes is None and extra_minutes is None:
        return base
    return replace(
        base, period_minutes=period_minutes or base.period_minutes,
        extra_minutes=extra_minutes or base.extra_minutes,
    )
