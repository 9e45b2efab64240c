"""The score logic: matches, events, sport profiles and the pure fold from a log to a state.

Nothing here does I/O or imports anything outside the standard library, so every store
(SQLite, Redis) runs the same rules and the rules can be tested without a server.

- `model`: the values (Match, Event, MatchState with its Clock and Shootout)
- `sports`: sport profiles (periods, clock direction, scoring, labels)
- `rules`: what may be posted when (`check_allowed`)
- `fold`: the fold and `accept`
- `views`: the public shapes and labels (`match_view`, `live_fields`, `result_line`)
- `standings`: fixtures, competitions and live tables
"""
from .fold import STATUS_EVENTS, Acceptance, Known, NeedsFullLog, accept, apply, fold, references
from .model import (
    CLOSED_STATUSES, EVENT_TYPES, MATCH_ID_PATTERN, SIDES, STATUSES, Clock, Event, EventDraft,
    Kick, Match, MatchState, Shootout, instant, name_slug, new_event_id, slugify, to_utc, utc_now,
)
from .rules import ALLOWED_WHEN_CLOSED, TIMED_EVENTS, check_allowed
from .sports import BASKETBALL, FOOTBALL, PROFILES, SPORTS, SportProfile, profile_for
from .standings import competitions, filter_games, is_league_stage, match_day, standings
from .views import clock_label, decided_by, live_fields, match_view, periods, result_line, status_label

__all__ = [
    "ALLOWED_WHEN_CLOSED", "BASKETBALL", "CLOSED_STATUSES", "EVENT_TYPES", "FOOTBALL",
    "MATCH_ID_PATTERN", "PROFILES", "SIDES", "SPORTS", "STATUSES", "STATUS_EVENTS", "TIMED_EVENTS",
    "Acceptance", "Clock", "Event", "EventDraft", "Kick", "Known", "Match", "MatchState",
    "NeedsFullLog", "Shootout", "SportProfile", "accept", "apply", "check_allowed", "clock_label", "competitions",
    "decided_by", "filter_games", "fold", "instant", "is_league_stage", "live_fields",
    "match_day", "match_view", "name_slug", "new_event_id", "periods", "profile_for",
    "references", "result_line", "slugify", "standings", "status_label", "to_utc", "utc_now",
]
