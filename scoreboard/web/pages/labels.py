"""The words pages print about a match: status labels, kickoff times, competition and stage.

static/render.js says the same things for live updates (statusLabel, shortStatus, leader,
matchContext) and static/time.js turns the kickoff times below, rendered in UTC for a page
without JavaScript, into the viewer's own time zone: keep them in step.
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
# shows its kickoff time there instead; "TBC" when no kickoff is known yet.
SHORT_STATUS = {
    "scheduled": "TBC",
    "live": "Live",
    "half_time": "HT",
    "finished": "FT",
    "postponed": "Postponed",
    "abandoned": "Abandoned",
}
FINISHED_SHORT = {"extra_time": "AET", "overtime": "OT", "penalties": "Pens"}

Match = Mapping[str, Any]


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def long_status(match: Match) -> str:
    """The status in full ("Full time"); the service's own label when it sends one ("AET")."""
    return str(match.get("status_label") or status_label(match["status"]))


def short_status(match: Match) -> str:
    """"FT", "HT", "Live", "AET"; empty for a scheduled match whose kickoff time is shown."""
    status = str(match["status"])
    if status == "scheduled" and match.get("starts_at"):
        return ""
    if status == "finished":
        return FINISHED_SHORT.get(str(match.get("decided_by") or ""), "FT")
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
    return f"{day}, {instant:%H:%M} UTC"
