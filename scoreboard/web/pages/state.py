"""The JSON a page embeds for its live script (`<script id="initial-state">`), kept small.

Every fan's browser downloads and parses it, so a list page sends each card only what a card
shows and the clock needs, and the clock bounds (`periods`, the same for every match of one
sport and period length) once per kind of match instead of once per match.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scoreboard.domain import PROFILES, periods, profile_for

Match = Mapping[str, Any]

CARD_FIELDS = (
    "id", "home", "away", "starts_at", "created_at", "private", "sport", "period_minutes",
    "extra_minutes", "competition", "competition_slug", "stage", "status", "status_label",
    "period", "score", "clock", "countdown", "winner", "decided_by", "result", "seq",
)
LIVE = frozenset({"live", "half_time"})


def periods_key(match: Match) -> str:
    """Which clock bounds a match has: its sport and period lengths ("football||")."""
    return f"{match.get('sport') or 'football'}|{match.get('period_minutes') or ''}|{match.get('extra_minutes') or ''}"


def card_view(match: Match) -> dict[str, Any]:
    """What a fixture row needs of a match view; a live one keeps its own `periods` (a
    basketball match in overtime lists more than a fresh one)."""
    view = {name: match.get(name) for name in CARD_FIELDS}
    if match.get("status") in LIVE:
        view["periods"] = match.get("periods")
    return view


def periods_table(matches: Iterable[Match]) -> dict[str, Any]:
    """`periods` per `periods_key` of the listed matches: the bounds a card needs when its
    match kicks off while the page is open."""
    table: dict[str, Any] = {}
    for match in matches:
        key = periods_key(match)
        if key in table:
            continue
        sport = str(match.get("sport") or "football")
        if sport not in PROFILES:
            continue
        profile = profile_for(sport, match.get("period_minutes"), match.get("extra_minutes"))
        table[key] = periods(profile, 0)
    return table


def table_points() -> dict[str, tuple[int, int, int]]:
    """Standings points (win, draw, loss) per sport, for a live table the page recomputes."""
    return {sport: profile.table_points for sport, profile in PROFILES.items()}


def list_state(matches: Sequence[Match]) -> dict[str, Any]:
    return {"matches": [card_view(m) for m in matches], "periods": periods_table(matches)}
