"""Resubscribing fans share one pre-serialized snapshot per match state (issue 14): after a
deploy thousands of fans ask for the same match at once, and each rebuild would cost ~0.3 ms."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
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
