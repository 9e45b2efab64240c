"""How many live connections may be opening at once (issue 14): the rest are told to retry.

After a deploy every fan reconnects within seconds. Each opening costs the loop a handshake,
access checks and a catch-up; unbounded, thousands queue on the loop together and a
scorekeeper's POST waits behind all of them. So at most `max_handshakes` openings are in
progress at once (from the upgrade request until the first catch-up has been sent); past
that a new one is answered 503 with `Retry-After: 1` before any work is done for it, which
costs about what a 404 does, and static/live.js retries it soon on its restart schedule.
"""
from __future__ import annotations

from collections.abc import Callable

from ...errors import ScoreboardError


class ServerBusy(ScoreboardError):
    """Too many live connections are opening at once: retry in a moment."""

    code = "unavailable"
    status = 503
    retry_after = 1


class HandshakeAdmission:
    """Counts live connections opening now, up to `limit` (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_progress = 0
        self.refused = 0  # openings answered 503 since start

    def full(self) -> bool:
        """Whether `admit` would refuse now (asked before any work is done for an opening)."""
        return bool(self.limit) and self.in_progress >= self.limit

    def admit(self) -> Callable[[], None]:
        """Take a place; returns what gives it back (idempotent: call it from every path that
        ends the opening). Raises ServerBusy past the limit."""
        if self.limit and self.in_progress >= self.limit:
            self.refused += 1
            raise ServerBusy("the server is busy with reconnecting fans: retry in a moment")
        self.in_progress += 1
        ended = False

        def end() -> None:
            nonlocal ended
            if not ended:
                ended = True
                self.in_progress -= 1

        return end
