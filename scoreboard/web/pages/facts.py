"""What a match page shows besides the score, from the match view and its events: the scorers
under each team, the shootout kick by kick, basketball's score per quarter and the timeline.

static/match-facts.js builds the same from the same data as events arrive (and
static/render.js the timeline entries): keep them in step.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import zip_longest
from typing import Any

Event = Mapping[str, Any]
Match = Mapping[str, Any]

CARD_LABELS = {"yellow": "Yellow card", "red": "Red card", "second_yellow": "Second yellow"}
# The symbols of templates/_icons.html, and what a screen reader says for each.
ICON_LABELS = {
    "goal": "Goal", "points": "Points", "card": "Card", "period_start": "Period start",
    "period_end": "Period end", "status": "Status change", "notification": "Notification",
    "retract": "Correction", "substitution": "Substitution", "added_time": "Added time",
    "kick_scored": "Penalty scored", "kick_missed": "Penalty missed",
}
# Scorekeeping moves fans do not read as news: a clock correction changes the minute shown.
HIDDEN_TYPES = frozenset({"clock"})


def minute_text(event: Event) -> str:
    """"23'", "45+7'", "Q3 4:12": the service's `minute_label`, else the bare minute."""
    if event.get("minute_label"):
        return str(event["minute_label"])
    minute = event.get("minute")
    return "" if minute is None else f"{minute}'"


def goal_note(event: Event) -> str:
    """" (pen.)", " (o.g.)" or "" after a goal's minute or scorer."""
    return " (pen.)" if event.get("penalty") else " (o.g.)" if event.get("own_goal") else ""


def counting_goals(events: Iterable[Event], retracted: Iterable[int]) -> list[Event]:
    """The goals that stand, in the order scored."""
    gone = set(retracted)
    return [e for e in events if e["type"] == "goal" and e["seq"] not in gone]


def scorers(goals: Sequence[Event]) -> dict[str, list[dict[str, Any]]]:
    """Per side, one entry per scorer in the order of their first goal: {"player": "Messi",
    "minutes": ["23' (pen.)", "108'"]}.

    A goal counts for the `team` it was credited to, so an own goal sits under the team that
    gained it, marked "(o.g.)".
    """
    lines: dict[str, dict[str, list[str]]] = {"home": {}, "away": {}}
    for goal in goals:
        side = goal.get("team")
        if side not in lines:
            continue
        when = f"{minute_text(goal)}{goal_note(goal)}".strip()
        lines[side].setdefault(str(goal.get("player") or ""), []).append(when)
    return {
        side: [{"player": player or ("Goal" if not any(times) else ""),
                "minutes": [w for w in times if w]}
               for player, times in by_player.items()]
        for side, by_player in lines.items()
    }


def scorer_line(entry: Mapping[str, Any]) -> str:
    """"Messi 23' (pen.), 108'"."""
    return " ".join(part for part in (entry["player"], ", ".join(entry["minutes"])) if part)


def shootout_rounds(shootout: Mapping[str, Any] | None) -> list[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]]:
    """The kicks paired by round: (home's nth kick, away's nth kick), either None if not taken."""
    if not shootout:
        return []
    kicks = shootout.get("kicks") or []
    home = [k for k in kicks if k["team"] == "home"]
    away = [k for k in kicks if k["team"] == "away"]
    return list(zip_longest(home, away))


def shootout_slots(shootout: Mapping[str, Any] | None, finished: bool) -> dict[str, list[Mapping[str, Any] | None]]:
    """Per side, its kicks in order, padded with None to the five each side takes while the
    shootout is on (sudden death adds one a round)."""
    rounds = shootout_rounds(shootout)
    width = len(rounds) if finished else max(5, len(rounds))
    padded = rounds + [(None, None)] * (width - len(rounds))
    return {"home": [home for home, _ in padded], "away": [away for _, away in padded]}


def linescore(events: Iterable[Event], retracted: Iterable[int]) -> dict[str, dict[int, int]]:
    """Points per period per side from the scoring events that stand (basketball's quarters)."""
    gone = set(retracted)
    score: dict[str, dict[int, int]] = {"home": {}, "away": {}}
    for event in events:
        if event["type"] not in ("points", "goal") or event["seq"] in gone:
            continue
        side, period = event.get("team"), int(event.get("period") or 0)
        if side in score and period:
            score[side][period] = score[side].get(period, 0) + int(event.get("value", 1))
    return score


def team_name(match: Match, side: Any) -> str:
    return str(match["home"] if side == "home" else match["away"] if side == "away" else "")


def periods_by_number(match: Match) -> dict[int, Mapping[str, Any]]:
    return {int(p["period"]): p for p in match.get("periods") or []}


def title(event: Event, match: Match, period: int | None = None) -> str:
    """An event's headline: "Goal · Argentina", "Half time", "Substitution · France".

    `period` is the period being played when it happened (the one a period_start starts, the
    one a period_end ends): events need not name it.
    """
    kind = event["type"]
    team = team_name(match, event.get("team"))
    periods = periods_by_number(match)
    basketball = match.get("sport") == "basketball"
    if kind == "goal":
        return f"Goal · {team}"
    if kind == "points":
        return f"+{event.get('value', 1)} · {team}"
    if kind == "card":
        return f"{CARD_LABELS.get(str(event.get('color')), 'Card')} · {team}"
    if kind == "substitution":
        return f"Substitution · {team}"
    if kind == "shootout_kick":
        return f"Penalty {'scored' if event.get('scored') else 'missed'} · {team}"
    if kind == "added_time":
        minutes = int(event.get("minutes") or 0)
        return f"{minutes} minute{'' if minutes == 1 else 's'} of added time"
    if kind == "period_start":
        number = int(event.get("period") or period or 0)
        if number == 1:
            return "Tip-off" if basketball else "Kick-off"
        name = periods.get(number, {}).get("name")
        if name == "Penalty shootout":
            return "Penalty shootout"
        return f"{name} begins" if name else "Period started"
    if kind == "period_end":
        if event.get("final"):
            return "Final" if basketball else "Full time"
        info = periods.get(period or 0)
        return str(info["break"]) if info and info.get("break") else "End of period"
    if kind == "status":
        return f"Match {STATUS_WORDS.get(str(event.get('status')), str(event.get('status'))).lower()}"
    if kind == "notification":
        return str(event.get("title") or "")
    if kind == "retract":
        return "Correction"
    return kind


STATUS_WORDS = {
    "scheduled": "Scheduled", "live": "Live", "half_time": "Half time", "finished": "Full time",
    "postponed": "Postponed", "abandoned": "Abandoned",
}


def detail(event: Event, match: Match, by_seq: Mapping[int, Event]) -> str:
    """The words after the headline: scorer and assist, the player, what a correction undid."""
    kind = event["type"]
    if kind == "goal":
        text = f"{event.get('player') or ''}{goal_note(event)}".strip()
        if event.get("assist"):
            text += f" · assist {event['assist']}"
        return text
    if kind in ("points", "card", "shootout_kick"):
        return str(event.get("player") or "")
    if kind == "substitution":
        return f"{event.get('player_in') or '?'} replaces {event.get('player_out') or '?'}"
    if kind == "period_end" and event.get("final"):
        return str(match.get("result") or "")
    if kind == "notification":
        return str(event.get("text") or "")
    if kind == "retract":
        target = by_seq.get(int(event.get("target") or 0))
        what = title(target, match) if target else f"Event #{event.get('target')}"
        reason = f" — {event['reason']}" if event.get("reason") else ""
        return f"{what} no longer counts{reason}"
    return ""


def icon(event: Event) -> str:
    kind = event["type"]
    if kind == "shootout_kick":
        return "kick_scored" if event.get("scored") else "kick_missed"
    return kind if kind in ICON_LABELS else "other"


def retracted_note(event: Event) -> str:
    """What a struck-out event says it is: a goal was disallowed, anything else cancelled."""
    return "Disallowed" if event["type"] in ("goal", "points") else "Cancelled"


def timeline(events: Sequence[Event], match: Match, retracted: Iterable[int]) -> list[dict[str, Any]]:
    """The timeline entries, newest first, as templates/_event.html prints them."""
    gone = set(retracted)
    by_seq = {e["seq"]: e for e in events}
    entries = []
    period: int | None = None   # the period being played, to name the break a period_end starts
    for event in events:
        kind = event["type"]
        target = by_seq.get(int(event.get("target") or 0)) if kind == "retract" else None
        if kind == "period_start":
            period = int(event.get("period") or (period or 0) + 1)
        if kind in HIDDEN_TYPES:
            continue
        minute = minute_text(event)
        if kind == "added_time" and period in periods_by_number(match):
            minute = f"{periods_by_number(match)[period]['end'] // 60}'"
        entry: dict[str, Any] = {
            "seq": event["seq"], "type": kind, "minute": minute, "icon": icon(event),
            "icon_label": ICON_LABELS.get(icon(event), "Event"),
            "title": title(event, match, period), "detail": detail(event, match, by_seq),
            "retracted": event["seq"] in gone, "note": retracted_note(event),
            "level": event.get("level", "info") if kind == "notification" else None,
            "color": event.get("color") if kind == "card" else None,
            "sub_in": event.get("player_in") if kind == "substitution" else None,
            "sub_out": event.get("player_out") if kind == "substitution" else None,
            "retracts_goal": target is not None and target["type"] in ("goal", "points"),
        }
        entries.append(entry)
    entries.reverse()
    return entries
