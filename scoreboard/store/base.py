"""The event store protocol: the one durable place a match and its log live.

Two implementations stand side by side: `sqlite.SqliteStore` (the embedded default) and
`redis.RedisStore` (several instances as one service). Both run the same pure rules from
`scoreboard.domain`; they differ only in where the log is kept and how appends are made atomic.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..domain import Acceptance, Event, EventDraft, Match, MatchState


@dataclass(frozen=True)
class Committed:
    """One durable append, handed to commit listeners in seq order per match."""

    match: Match
    acceptance: Acceptance


CommitListener = Callable[[Committed], None]


class EventStore(Protocol):
    async def open(self) -> None:
        """Connect and create what is missing; safe to call on an existing store."""

    async def close(self) -> None:
        """Finish pending writes, then release connections."""

    async def create_match(self, match: Match) -> Match:
        """Store a new match durably; raises MatchExists."""

    async def get(self, match_id: str) -> tuple[Match, MatchState]:
        """The match and its committed state; raises MatchNotFound."""

    async def list_matches(self, status: str | None = None) -> list[tuple[Match, MatchState]]:
        """Every match (optionally one status), newest first."""

    async def append(self, match_id: str, drafts: list[EventDraft]) -> Acceptance:
        """Check and number a batch atomically and store it durably before returning.

        Raises the domain errors of `domain.accept`, MatchNotFound, or StoreUnavailable
        (nothing stored).
        """

    async def events_since(self, match_id: str, since: int, limit: int | None = None) -> list[Event]:
        """Committed events with seq > since, in seq order."""

    async def tail(self, match_id: str, count: int) -> list[Event]:
        """The last `count` committed events, in seq order."""

    def add_commit_listener(self, listener: CommitListener) -> None:
        """Call `listener` for each durable append, in seq order per match, on the loop.

        An in-process store calls it before `append` returns; a shared store calls it when
        this instance learns of the append, whichever instance made it.
        """

    def forget(self, match_id: str) -> bool:
        """Let go of what is held in memory for `match_id` (it is loaded again when next used);
        False, keeping it, while a write of it is in flight."""

    async def ready(self) -> bool:
        """Whether the store can take writes right now (for /readyz)."""
