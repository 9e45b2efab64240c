"""The domain's values: a match, its events, its folded state (clock and shootout included).

Plain frozen dataclasses and their plain-dict forms; no rules (those are in `fold.py`) and no
I/O, so every store and the wire share one definition of each shape.
"""
from __future__ import annotations

import random
import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from .sports import SportProfile, profile_for

MATCH_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

STATUSES = ("scheduled", "live", "half_time", "finished", "postponed", "abandoned")
CLOSED_STATUSES = frozenset({"finished", "abandoned"})
EVENT_TYPES = (
    "period_start", "period_end", "goal", "points", "card", "substitution", "shootout_kick",
    "clock", "added_time", "notification", "status", "retract",
)
SIDES = ("home", "away")


def utc_now() -> str:
    """An ISO 8601 UTC timestamp with milliseconds, the one time format we serve.

    The date and time of day are formatted once per second (every live connection's
    `subscribed` and every event carries one): a tenth of what datetime's isoformat costs.
    """
    global _second
    now = time.time()
    whole = int(now)
    if whole != _second[0]:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((now - whole) * 1000):03d}Z"


_second: tuple[int, str] = (-1, "")


@lru_cache(maxsize=4096)
def instant(timestamp: str) -> float:
    """Seconds since the epoch of one of our ISO timestamps (cached: the clock re-reads its own
    `at` for every timed event of a period)."""
    return datetime.fromisoformat(timestamp).timestamp()


def to_utc(moment: datetime) -> str:
    """An aware datetime as our UTC form, `2022-12-18T15:00:00Z` (seconds kept, no offset)."""
    text = moment.astimezone(timezone.utc).isoformat()
    return text.replace("+00:00", "Z")


def slugify(text: str) -> str:
    """A URL-safe match id made from free text ("Argentina v France" -> "argentina-v-france")."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:64].strip("-") or f"{random.getrandbits(48):012x}"


def name_slug(text: str) -> str:
    """A deterministic slug for a name, accents folded ("Copa América 2024" -> "copa-america-2024");
    empty when the name has no letter or digit."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:64].strip("-")


def new_event_id() -> str:
    """A server-made event id. Unique, not secret: the PRNG avoids an OS entropy call per event."""
    return f"srv-{random.getrandbits(128):032x}"


@dataclass(frozen=True)
class Match:
    """What a scorekeeper declares when creating a match; never changes afterwards.

    `sport` picks the profile (periods, clock, scoring); `period_minutes` / `extra_minutes`
    override its lengths (FIBA 10, NBA 12; youth football 40 + 10).
    """

    id: str
    home: str
    away: str
    starts_at: str | None = None
    created_at: str = field(default_factory=utc_now)
    private: bool = False
    sport: str = "football"
    period_minutes: int | None = None
    extra_minutes: int | None = None
    competition: str | None = None
    stage: str | None = None
    venue: str | None = None

    @property
    def profile(self) -> SportProfile:
        """The rules this match is played by (its sport with its own period lengths)."""
        return profile_for(self.sport, self.period_minutes, self.extra_minutes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "home": self.home, "away": self.away, "starts_at": self.starts_at,
            "created_at": self.created_at, "private": self.private, "sport": self.sport,
            "period_minutes": self.period_minutes, "extra_minutes": self.extra_minutes,
            "competition": self.competition, "stage": self.stage, "venue": self.venue,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Match:
        """Also reads what older versions stored (no sport, no fixture fields)."""
        return cls(
            id=data["id"], home=data["home"], away=data["away"], starts_at=data.get("starts_at"),
            created_at=data["created_at"], private=bool(data.get("private", False)),
            sport=data.get("sport") or "football", period_minutes=data.get("period_minutes"),
            extra_minutes=data.get("extra_minutes"), competition=data.get("competition"),
            stage=data.get("stage"), venue=data.get("venue"),
        )


@dataclass(frozen=True)
class EventDraft:
    """A validated event as a scorekeeper sent it, before it has a place in the log."""

    type: str
    fields: Mapping[str, Any]
    client_id: str | None = None
    expected_seq: int | None = None


# Things that happen at a moment of play: `accept` stamps them with their period and, when left
# out, their minute. A retry that leaves these fields out again (or null) is the same event.
TIMED_EVENTS = frozenset({"goal", "points", "card", "substitution"})
SERVER_FILLED = frozenset({"period", "minute", "elapsed", "minute_label"})


@dataclass(frozen=True)
class Event:
    """An accepted event: immutable, numbered, stored forever."""

    seq: int
    id: str
    type: str
    at: str
    fields: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "id": self.id, "type": self.type, "at": self.at, **self.fields}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        fields = {k: v for k, v in data.items() if k not in ("seq", "id", "type", "at")}
        return cls(seq=data["seq"], id=data["id"], type=data["type"], at=data["at"], fields=fields)

    def same_as(self, draft: EventDraft) -> bool:
        """Whether a retried draft describes this event (the idempotency check)."""
        if draft.type != self.type:
            return False
        if self.type == "retract":
            # We store the resolved `target` seq beside whatever the client named.
            return {k: v for k, v in self.fields.items() if k in draft.fields} == dict(draft.fields)
        if self.type not in TIMED_EVENTS:
            return dict(self.fields) == dict(draft.fields)
        given = {k: v for k, v in draft.fields.items() if v is not None or k not in SERVER_FILLED}
        stored = {k: v for k, v in self.fields.items() if k in given or k not in SERVER_FILLED}
        return stored == given


@dataclass(frozen=True)
class Clock:
    """The match clock as of one reading: `elapsed` seconds into the match at instant `at`,
    ticking on from there when `running`. Every client derives the same time from it."""

    running: bool = False
    elapsed: float = 0.0
    at: str | None = None

    def reading(self, at: str) -> float:
        """Seconds into the match at instant `at` (never before this reading's own instant)."""
        if not self.running or self.at is None:
            return self.elapsed
        return round(self.elapsed + max(0.0, instant(at) - instant(self.at)), 3)

    def to_dict(self) -> dict[str, Any]:
        return {"running": self.running, "elapsed": self.elapsed, "at": self.at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Clock:
        if not data:
            return STOPPED
        return cls(bool(data["running"]), float(data["elapsed"]), data.get("at"))


STOPPED = Clock()


@dataclass(frozen=True)
class Kick:
    """One penalty of a shootout; `seq` is its event, so a retract can take it out."""

    seq: int
    team: str
    player: str | None
    scored: bool

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "team": self.team, "player": self.player, "scored": self.scored}


@dataclass(frozen=True)
class Shootout:
    """A penalty shootout: its own tally, never part of the match score. `after_period` is the
    period played before it (4 after extra time), so a result can say "AET"."""

    home: int = 0
    away: int = 0
    kicks: tuple[Kick, ...] = ()
    after_period: int = 0

    def with_kick(self, kick: Kick) -> Shootout:
        home = self.home + (kick.scored and kick.team == "home")
        away = self.away + (kick.scored and kick.team == "away")
        return Shootout(home, away, (*self.kicks, kick), self.after_period)

    def without(self, seq: int) -> Shootout:
        kept = tuple(kick for kick in self.kicks if kick.seq != seq)
        return Shootout(
            sum(k.scored for k in kept if k.team == "home"),
            sum(k.scored for k in kept if k.team == "away"),
            kept, self.after_period,
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire and store form: `kicks` in the order taken."""
        return {
            "home": self.home, "away": self.away, "after_period": self.after_period,
            "kicks": [k.to_dict() for k in self.kicks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Shootout | None:
        if data is None:
            return None
        kicks = tuple(
            Kick(int(k["seq"]), k["team"], k.get("player"), bool(k["scored"])) for k in data["kicks"]
        )
        return cls(int(data["home"]), int(data["away"]), kicks, int(data.get("after_period", 0)))


@dataclass(frozen=True)
class MatchState:
    """Everything a fan sees of a match, derived from its log and nothing else.

    `added_time` is the fourth official's board for the current period (minutes), if shown.
    """

    status: str = "scheduled"
    period: int = 0
    home: int = 0
    away: int = 0
    seq: int = 0
    retracted: frozenset[int] = frozenset()
    clock: Clock = STOPPED
    added_time: int | None = None
    shootout: Shootout | None = None

    @property
    def score(self) -> dict[str, int]:
        return {"home": self.home, "away": self.away}

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def winner(self) -> str | None:
        """`home`, `away` or `draw` once finished: the score, else the shootout; else None."""
        if self.status != "finished":
            return None
        if self.home != self.away:
            return "home" if self.home > self.away else "away"
        shootout = self.shootout
        if shootout is not None and shootout.home != shootout.away:
            return "home" if shootout.home > shootout.away else "away"
        return "draw"

    def to_record(self) -> dict[str, Any]:
        """The whole state as plain JSON-ready data (what a store keeps beside the match)."""
        return {
            "v": 2, "status": self.status, "period": self.period, "home": self.home,
            "away": self.away, "seq": self.seq, "retracted": sorted(self.retracted),
            "clock": self.clock.to_dict(), "added_time": self.added_time,
            "shootout": None if self.shootout is None else self.shootout.to_dict(),
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> MatchState:
        return cls(
            status=data["status"], period=data["period"], home=data["home"], away=data["away"],
            seq=data["seq"], retracted=frozenset(data["retracted"]),
            clock=Clock.from_dict(data.get("clock")), added_time=data.get("added_time"),
            shootout=Shootout.from_dict(data.get("shootout")),
        )
