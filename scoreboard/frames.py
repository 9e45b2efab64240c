"""The live message shapes, built and serialized once per event, and a short history of them.

The history lets a fan that reconnects with `since` be answered from memory (the common
case: a blip of a few seconds) instead of refolding the log for every reconnecting fan.
"""
from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from .domain import Event, Match, MatchState, apply, fold, live_fields
from .text import is_text


@dataclass(frozen=True, slots=True)
class Frame:
    """One live message, serialized once for every subscriber of its match."""

    match_id: str
    seq: int
    text: str
    # The message as the WebSocket edge writes it, built on first use and then shared by every
    # fan (web/live/framing.websocket_bytes); not part of the frame's value.
    wire: bytes | None = field(default=None, init=False, repr=False, compare=False)


def dumps(message: Any) -> str:
    """Compact JSON, non-ASCII text as is (UTF-8 on the wire), always encodable.

    A lone surrogate can only be in data stored before such text was refused (text.py); it is
    then written as a \\u escape, still valid JSON, so the message can be sent to every fan.
    """
    text = _COMPACT.encode(message)
    if text.isascii() or is_text(text):
        return text
    return _COMPACT_ASCII.encode(message)


# Made once: json.dumps with any keyword builds a new encoder on every call (one per event).
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_COMPACT_ASCII = json.JSONEncoder(separators=(",", ":"))


def event_message(match: Match, event: Event, state: MatchState) -> dict[str, Any]:
    """One event and the match right after it: score, status and its label, period, clock,
    and when they have a value added time, the shootout, and winner / decided_by / result
    (`live_fields`, sparse), so a page shows the ticking minute from any frame, also right
    after a reconnect."""
    return {
        "type": "event", "match_id": match.id, "seq": event.seq, "event": event.to_dict(),
        **live_fields(match, state, sparse=True),
    }


def event_frame(match: Match, event: Event, state: MatchState) -> Frame:
    return Frame(match.id, event.seq, dumps(event_message(match, event, state)))


def snapshot_message(view: dict[str, Any], events: Sequence[Event]) -> dict[str, Any]:
    return {
        "type": "snapshot", "epoch": match_epoch(view["created_at"]), "match": view,
        "events": [event.to_dict() for event in events],
    }


@lru_cache(maxsize=1024)
def match_epoch(created_at: str) -> str:
    """Which life of a match's log its seqs belong to: the match's creation time in ms, base 36.

    A fan's resume cursor carries it (`a:17@<epoch>`): if the log was lost (an ephemeral disk
    wiped, Redis without persistence) and the match made again under the same id, the new log
    has another epoch, and a cursor into the old one gets a fresh snapshot instead of resuming
    silently against a different log. Every instance computes the same value from the stored
    match, with no extra state. Cached: every catch-up of every fan asks for it.
    """
    try:
        moment = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:  # not ours: still a stable name for this value
        return hashlib.sha256(created_at.encode("utf-8", "replace")).hexdigest()[:10]
    return _base36(round(moment.timestamp() * 1000))


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def frames_from_log(match: Match, log: Sequence[Event]) -> list[Frame]:
    """One frame per event with the state right after it, as fans saw them live."""
    frames = []
    profile = match.profile
    state = MatchState()
    for index, event in enumerate(log):
        if event.type == "retract":
            state = fold(log[: index + 1], profile)  # rare: undoing may touch status, so refold
        else:
            state = replace(apply(state, event, profile), seq=event.seq)
        frames.append(event_frame(match, event, state))
    return frames


class FrameHistory:
    """The last `depth` frames of each match, in seq order, filled as events commit."""

    def __init__(self, depth: int) -> None:
        self._depth = depth
        self._frames: dict[str, deque[Frame]] = {}  # match id -> its latest frames

    def add(self, frame: Frame) -> None:
        frames = self._frames.get(frame.match_id)
        if frames is None:
            frames = self._frames[frame.match_id] = deque(maxlen=self._depth)
        if frames and frame.seq <= frames[-1].seq:
            return  # already held: a catch-up rebuilt it before the stream delivered it
        if frames and frame.seq != frames[-1].seq + 1:
            frames.clear()  # a gap (e.g. another instance's events missed): keep only what is whole
        frames.append(frame)

    def since(self, match_id: str, seq: int) -> list[Frame] | None:
        """Frames after `seq`, or None when the history does not reach back that far."""
        frames = self._frames.get(match_id)
        if not frames or frames[0].seq > seq + 1:
            return None
        return [frame for frame in frames if frame.seq > seq]

    def latest(self, match_id: str) -> int | None:
        """The seq of the newest frame held for the match (None: none held)."""
        frames = self._frames.get(match_id)
        return frames[-1].seq if frames else None

    def backfill(self, match_id: str, frames: Iterable[Frame]) -> None:
        """Put older frames (rebuilt from the log) in front of what live commits added."""
        older = [frame for frame in frames]
        current = self._frames.get(match_id)
        if current:
            older = [frame for frame in older if frame.seq < current[0].seq]
            if not older or older[-1].seq + 1 != current[0].seq:
                return
            older.extend(current)
        merged: deque[Frame] = deque(older, maxlen=self._depth)
        self._frames[match_id] = merged

    def forget(self, match_id: str) -> None:
        self._frames.pop(match_id, None)
