"""One exception per domain failure; the web edge maps each to an HTTP status once."""
from __future__ import annotations

from typing import Any


class ScoreboardError(Exception):
    """Base of every failure a client can cause or must be told about."""

    code = "error"
    status = 400

    def __init__(self, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class InvalidEvent(ScoreboardError):
    """An event that is well-formed JSON but breaks a domain rule."""

    code = "validation_failed"
    status = 422


class MatchNotFound(ScoreboardError):
    code = "not_found"
    status = 404


class CompetitionNotFound(ScoreboardError):
    code = "not_found"
    status = 404


class MatchExists(ScoreboardError):
    code = "match_exists"
    status = 409


class MatchClosed(ScoreboardError):
    """The match is finished or abandoned: only corrections and announcements remain."""

    code = "match_closed"
    status = 409


class NotInPlay(ScoreboardError):
    """The event needs play that is not happening: a goal before kick-off, a kick outside a
    shootout, a clock start between periods. The message says which event to send first."""

    code = "not_in_play"
    status = 409


class SeqConflict(ScoreboardError):
    """`expected_seq` no longer matches the log: another scorekeeper got there first."""

    code = "seq_conflict"
    status = 409


class IdConflict(ScoreboardError):
    """A client event id reused for a different event."""

    code = "id_conflict"
    status = 409


class StoreUnavailable(ScoreboardError):
    """The durable store cannot be reached; nothing was stored."""

    code = "store_unavailable"
    status = 503
