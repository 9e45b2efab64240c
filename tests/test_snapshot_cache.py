"""Resubscribing fans share one pre-serialized snapshot per match state (issue 14): after a
deploy thousands of fans ask for the same match at once, and each rebuild would cost ~0.3 ms."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from pathlib import Path

import pytest

from scoreboard.domain import EventDraft
from scoreboard.errors import MatchNotFound
from scoreboard.hub import Hub
from scoreboard.service import ScoreService
from scoreboard.store.sqlite import SqliteStore


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[ScoreService]:
    served = ScoreService(SqliteStore(str(tmp_path / "cache.db")), Hub())
    await served.start()
    yield served
    await served.stop()


async def test_fans_of_an_unchanged_match_get_the_same_snapshot_text(service: ScoreService) -> None:
    """Two fans without a cursor get the very same text; after a goal the next fan gets the new score."""
    await service.create_match({"id": "cup", "home": "Home", "away": "Away"})
    await service.ingest("cup", [EventDraft("period_start", {})])
    first = await service.catch_up("cup", None)
    second = await service.catch_up("cup", None)
    assert first.snapshot is not None and second.snapshot is first.snapshot  # served, not rebuilt
    assert json.loads(first.snapshot)["match"]["seq"] == 1

    await service.ingest("cup", [EventDraft("goal", {"team": "home"})])
    third = await service.catch_up("cup", None)
    assert third.snapshot is not None and third.snapshot is not first.snapshot
    snapshot = json.loads(third.snapshot)
    assert snapshot["match"]["seq"] == 2 and snapshot["match"]["score"] == {"home": 1, "away": 0}
    assert snapshot["epoch"] == third.epoch


async def test_privacy_check_reads_no_view(service: ScoreService) -> None:
    """`is_private` answers for public and private matches and refuses unknown ids."""
    await service.create_match({"id": "open", "home": "A", "away": "B"})
    await service.create_match({"id": "closed", "home": "C", "away": "D", "private": True})
    assert await service.is_private("open") is False
    assert await service.is_private("closed") is True
    with pytest.raises(MatchNotFound):
        await service.is_private("nope")


class CountingStore(SqliteStore):
    """The real SQLite store, counting the reads a catch-up makes of it."""

    reads = 0

    async def get(self, match_id: str) -> Any:
        self.reads += 1
        return await super().get(match_id)

    async def events_since(self, match_id: str, since: int, limit: int | None = None) -> Any:
        self.reads += 1
        return await super().events_since(match_id, since, limit)


async def test_a_resume_within_what_the_process_holds_reads_nothing_and_misses_nothing(tmp_path: Path) -> None:
    """After a deploy every fan resumes with its cursor: one within the frames this process
    holds is answered from them, with the same frames the store would give (and a new fan
    gets the snapshot built for the latest frame); a cursor ahead of them, or from another
    life of the log, is the store's to answer (a snapshot)."""
    store = CountingStore(str(tmp_path / "count.db"))
    service = ScoreService(store, Hub())
    await service.start()
    try:
        await service.create_match({"id": "cup", "home": "Home", "away": "Away"})
        for draft in (EventDraft("period_start", {}), EventDraft("goal", {"team": "home"}),
                      EventDraft("goal", {"team": "away"})):
            await service.ingest("cup", [draft])
        first_visit = await service.catch_up("cup", None)
        epoch = first_visit.epoch
        store.reads = 0
        assert (await service.catch_up("cup", None)).snapshot is first_visit.snapshot  # read nothing either
        resumed = await service.catch_up("cup", 1, epoch)
        assert [frame.seq for frame in resumed.frames] == [2, 3] and resumed.seq == 3
        assert json.loads(resumed.frames[-1].text)["score"] == {"home": 1, "away": 1}
        assert (await service.catch_up("cup", 3, epoch)).frames == []
        assert store.reads == 0
        ahead = await service.catch_up("cup", 9, epoch)  # a cursor this log never reached
        other_life = await service.catch_up("cup", 2, "zzzz")
        assert ahead.snapshot is not None and other_life.snapshot is not None
        assert json.loads(other_life.snapshot)["match"]["seq"] == 3
        assert store.reads >= 2
    finally:
        await service.stop()
