"""The words pages print about a match: status labels, the clock, kickoff times, competition.

static/render.js and static/match-clock.js say the same things for live updates (statusLabel,
shortStatus, clockText, leader, matchContext, pageTitle) and static/time.js turns the kickoff
times below, rendered in UTC for a page without JavaScript, into the viewer's own time zone:
keep them in step.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

STATUS_LABELS = {
    "scheduled": "Scheduled",
    "live": "Live",
    "half_time": "Half time",
    "finished": "Full time",
    "postponed": "Postponed",
    "abandoned": "Abandoned",
}

# The word in a fixture row's narrow "when" column, as score sites print it. A scheduled match
# shows its kickoff time there instead; "TBC" when no kickoff is known yet; a live one its
# ticking minute.
SHORT_STATUS = {
    "scheduled": "TBC",
    "live": "Live",
    "half_time": "HT",
    "finished": "FT",
    "postponed": "Postponed",
    "abandoned": "Abandoned",
}
FINISHED_SHORT = {"extra_time": "AET", "overtime": "OT", "penalties": "Pens"}
# Breaks as the narrow column prints them; other breaks ("End of Q1") print as they are.
SHORT_BREAKS = {"Half time": "HT", "Extra time half time": "HT"}
CLOSED = frozenset({"finished", "abandoned"})

Match = Mapping[str, Any]


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def long_status(match: Match) -> str:
    """The status in full ("Full time"); the service's own label when it sends one ("AET")."""
    return str(match.get("status_label") or status_label(match["status"]))


def short_status(match: Match, now: datetime | None = None) -> str:
    """"67'", "HT", "FT", "AET"; empty for a scheduled match whose kickoff time is shown."""
    status = str(match["status"])
    if status == "scheduled" and match.get("starts_at"):
        return ""
    if status == "finished":
        return FINISHED_SHORT.get(str(match.get("decided_by") or ""), "FT")
    if status == "live":
        return clock_label(match, now or datetime.now(timezone.utc)) or str(match.get("status_label") or "Live")
    if status == "half_time" and match.get("status_label"):
        return SHORT_BREAKS.get(str(match["status_label"]), str(match["status_label"]))
    return SHORT_STATUS.get(status, status)


def period_label(match: Match) -> str:
    """"Period 2", only for a view without the service's status label ("2nd half" says it)."""
    period = match.get("period")
    return f"Period {period}" if period and not match.get("status_label") else ""


def leader(match: Match) -> str:
    """"home" or "away": the side ahead, or the winner (a shootout decides a drawn score)."""
    if match.get("winner") in ("home", "away"):
        return str(match["winner"])
    if match["status"] == "scheduled":
        return ""
    home, away = match["score"]["home"], match["score"]["away"]
    return "home" if home > away else "away" if away > home else ""


def match_context(match: Match) -> str:
    """"World Cup · Final": the competition and stage that are known."""
    return " · ".join(str(part) for part in (match.get("competition"), match.get("stage")) if part)


def closed(match: Match) -> bool:
    """Finished or abandoned: nothing live to show (no live badge, no "Notify me")."""
    return match.get("status") in CLOSED


def _period(match: Match) -> Mapping[str, Any] | None:
    """The `periods` entry of the current period (a fresh view always lists it)."""
    number = match.get("period") or 0
    return next((info for info in match.get("periods") or [] if info["period"] == number), None)


def clock_label(match: Match, now: datetime) -> str | None:
    """The clock of a live match at `now`: "67'", "45+3'", "Q3 4:12"; None when no period is
    being played. The same as static/match-clock.js clockLabel (and the domain's clock_label)."""
    clock = match.get("clock") or {}
    if match.get("status") != "live" or not clock.get("at"):
        return None
    info = _period(match)
    if info is None or info["end"] == info["start"]:
        return None  # a shootout has no clock
    elapsed = float(clock["elapsed"])
    if clock.get("running"):
        at = datetime.fromisoformat(str(clock["at"]).replace("Z", "+00:00"))
        elapsed = round(elapsed + max(0.0, (now - at).total_seconds()), 3)
    if match.get("countdown"):
        left = int(max(0.0, min(info["end"] - elapsed, info["end"] - info["start"])))
        return f"{info['name']} {left // 60}:{left % 60:02d}"
    minute = int(elapsed // 60) + 1
    end = info["end"] // 60
    return f"{end}+{minute - end}'" if minute > end else f"{minute}'"


def hero_clock(match: Match, now: datetime) -> str | None:
    """The clock beside the status: "67'"; a countdown without the period the status names
    ("4:12" beside "Q3")."""
    label = clock_label(match, now)
    if label and match.get("countdown"):
        return label.split(" ", 1)[-1]
    return label


def score_text(match: Match) -> str:
    return f"{match['home']} {match['score']['home']}–{match['score']['away']} {match['away']}"


def page_title(match: Match, now: datetime | None = None) -> str:
    """The tab title: the score and what the match is doing ("Argentina 1–0 France · 67'")."""
    if match["status"] in ("scheduled", "postponed"):
        return f"{match['home']} v {match['away']}"
    state = short_status(match, now)
    return f"{score_text(match)} · {state}" if state else score_text(match)


def kickoff_text(starts_at: str | None, form: str) -> str:
    """A kickoff instant in UTC, for the first paint: "15:00", "18 Dec 2022" or both.

    static/time.js replaces it with the viewer's local time; this is what a page without
    JavaScript (or a crawler) reads, so the long form names its zone.
    """
    if not starts_at:
        return ""
    try:
        instant = datetime.fromisoformat(starts_at).astimezone(timezone.utc)
    except ValueError:
        return starts_at
    day = f"{instant.day} {instant:%b %Y}"
    if form == "time":
        return f"{instant:%H:%M}"
    if form == "day":
        return day
    if form == "heading":
        return f"{instant:%A} {instant.day} {instant:%B %Y}"
    return f"{day}, {instant:%H:%M} UTC"
