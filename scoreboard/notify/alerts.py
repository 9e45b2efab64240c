"""What a fan is shown for an event: its alert kind, and the push message built once per event.

Pure: standard library and the domain only. The seven kinds are what a subscription may pick
(`events`); other events (a yellow card, a drinks-break status) are not worth waking a phone.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..domain import Event, Match, MatchState, decided_by, live_fields
from .webpush import MAX_PLAINTEXT, b64url

ALERT_KINDS = ("goal", "kickoff", "half_time", "full_time", "red_card", "disallowed", "notification")
# A push service delivers a high-urgency message at once even to a phone saving battery.
HIGH_URGENCY = frozenset({"goal", "disallowed"})
MAX_TEXT = 300  # characters of a title or body: a notification shows two lines anyway


@dataclass(frozen=True)
class Alert:
    """One event as a push: the same payload for every subscription (each encrypts its own copy)."""

    kind: str
    match_id: str
    seq: int
    payload: bytes  # UTF-8 JSON, at most webpush.MAX_PLAINTEXT bytes
    urgency: str
    topic: str
    at: str  # the event's time (ISO 8601)


def alert_kind(event: Event, target: Event | None = None) -> str | None:
    """The kind of `event`, or None when it is not worth a push. `target`: a retract's target."""
    kind = event.type
    fields = event.fields
    if kind == "goal":
        return "goal"
    if kind == "period_start":
        return "kickoff"
    if kind == "period_end":
        return "full_time" if fields.get("final") else "half_time"
    if kind == "status" and fields.get("status") == "finished":
        return "full_time"
    if kind == "card" and fields.get("color") in ("red", "second_yellow"):
        return "red_card"
    if kind == "retract" and target is not None and target.type == "goal":
        return "disallowed"
    if kind == "notification":
        return "notification"
    return None


def topic_for(match_id: str) -> str:
    """RFC 8030 Topic: at most 32 URL-safe base64 characters, one per match."""
    return b64url(hashlib.sha256(match_id.encode()).digest()[:24])


def build_alert(match: Match, event: Event, state: MatchState, target: Event | None = None) -> Alert | None:
    """The push for `event` (with `state` right after it), or None when it has no alert kind."""
    kind = alert_kind(event, target)
    if kind is None:
        return None
    title, body = _texts(kind, match, event, state, target)
    message: dict[str, Any] = {
        "title": title[:MAX_TEXT], "body": body[:MAX_TEXT], "url": f"/matches/{match.id}",
        "tag": f"match-{match.id}", "kind": kind, "match_id": match.id, "seq": event.seq,
        "score": state.score, "status": state.status,
    }
    payload = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    if len(payload) > MAX_PLAINTEXT:  # only with very long team names: drop the body first
        message["body"] = ""
        payload = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()[:MAX_PLAINTEXT]
    return Alert(
        kind=kind, match_id=match.id, seq=event.seq, payload=payload,
        urgency="high" if kind in HIGH_URGENCY else "normal", topic=topic_for(match.id), at=event.at,
    )


def score_line(match: Match, state: MatchState) -> str:
    return f"{match.home} {state.home}–{state.away} {match.away}"


def _minute(fields: Any) -> str:
    """The minute as every page shows it (`minute_label`: 45+2'), else as posted."""
    label = fields.get("minute_label")
    if label:
        return str(label)
    minute = fields.get("minute")
    return f"{minute}'" if minute is not None else ""


def _side(match: Match, team: Any) -> str:
    return match.home if team == "home" else match.away if team == "away" else ""


def _texts(kind: str, match: Match, event: Event, state: MatchState, target: Event | None) -> tuple[str, str]:
    fields = event.fields
    line = score_line(match, state)
    if kind == "goal":
        note = " (pen.)" if fields.get("penalty") else " (o.g.)" if fields.get("own_goal") else ""
        who = fields.get("player") or _side(match, fields.get("team"))
        return f"GOAL! {line}", " ".join(p for p in (who, _minute(fields)) if p) + note
    profile = match.profile
    if kind == "kickoff":
        period = state.period or 1
        if period == 1:
            return f"Kick-off: {match.home} v {match.away}", line
        if period == 2 and profile.sport == "football":
            return f"Second half: {line}", "The second half is under way"
        # The sport's own words, as on every page: "Extra time", "Penalties", "Q3", "OT".
        label = profile.live_label(period)
        return f"{label}: {line}", f"{profile.period_name(period)} is under way"
    if kind == "half_time":
        return f"{profile.break_label(state.period)}: {line}", ""
    if kind == "full_time":
        settled = decided_by(profile, state)
        title = "Full time" if profile.sport == "football" else profile.finished_label(settled)
        result = live_fields(match, state).get("result") if settled not in (None, "normal_time") else None
        return f"{title}: {line}", result or ""
    if kind == "red_card":
        who = fields.get("player") or "A player"
        side = _side(match, fields.get("team"))
        detail = " · ".join(p for p in (_minute(fields), line) if p)
        return f"Red card: {who}" + (f" ({side})" if side else ""), detail
    if kind == "disallowed":
        original = target.fields if target is not None else {}
        who = " ".join(p for p in (original.get("player") or "", _minute(original)) if p)
        reason = fields.get("reason") or ""
        return f"Goal disallowed: {line}", " · ".join(p for p in (who, reason) if p)
    return str(fields.get("title") or "Notice"), str(fields.get("text") or line)
