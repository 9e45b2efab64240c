"""RedisStore on a real redis-server: the same rules as the embedded store, kept in Redis."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from redis_server import RedisServer
from scoreboard.domain import EventDraft, Match
from scoreboard.errors import IdConflict, MatchExists, MatchNotFound, SeqConflict, StoreUnavailable
from scoreboard.store.base import Committed
from scoreboard.store.redis import RedisStore


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    store = RedisStore(redis_server.url, prefix=f"test-{uuid.uuid4().hex[:8]}:", timeout=1.0)
    await store.open()
    yield store
    await store.close()


def goal(team: str = "home", client_id: str | None = None, expected_seq: int | None = None) -> EventDraft:
    return EventDraft("goal", {"team": team}, client_id=client_id, expected_seq=expected_seq)


async def test_match_lifecycle(store: RedisStore) -> None:
    """create_match, get and list read back what was stored; a second create is MatchExists."""
    await store.create_match(Match(id="a", home="A", away="B"))
    with pytest.raises(MatchExists):
        await store.create_match(Match(id="a", home="X", away="Y"))
    match, state = await store.get("a")
    assert (match.home, state.seq, state.status) == ("A", 0, "scheduled")
    assert [m.id for m, _ in await store.list_matches()] == ["a"]
    assert await store.list_matches("live") == []
    with pytest.raises(MatchNotFound):
        await store.get("nope")
    with pytest.raises(MatchNotFound):
        await store.append("nope", [goal()])


async def test_append_numbers_and_reads(store: RedisStore) -> None:
    """Appends get gap-free seqs; events_since and tail read the committed log."""
    await store.create_match(Match(id="a", home="A", away="B"))
    first = await store.append("a", [EventDraft("period_start", {}), goal()])
    assert [e.seq for e in first.new_events] == [1, 2]
    second = await store.append("a", [goal("away")])
    assert second.state.score == {"home": 1, "away": 1}
    assert [e.seq for e in await store.events_since("a", 1)] == [2, 3]
    assert [e.seq for e in await store.events_since("a", 0, 2)] == [1, 2]
    assert [e.seq for e in await store.tail("a", 2)] == [2, 3]
    _, state = await store.get("a")
    assert (state.seq, state.status) == (3, "live")
    assert [s.status for _, s in await store.list_matches("live")] == ["live"]


async def test_idempotency_and_conflicts(store: RedisStore) -> None:
    """A repeated id answers the original; a changed body is IdConflict; stale expected_seq is SeqConflict."""
    await store.create_match(Match(id="a", home="A", away="B"))
    await store.append("a", [EventDraft("period_start", {})])
    created = await store.append("a", [goal(client_id="k1")])
    repeat = await store.append("a", [goal(client_id="k1")])
    await store.append("a", [goal("away")])
    assert not repeat.created and repeat.results[0][0] == created.results[0][0]
    assert repeat.state.score == {"home": 1, "away": 0}  # the score as of the original
    with pytest.raises(IdConflict):
        await store.append("a", [goal("away", client_id="k1")])
    with pytest.raises(SeqConflict):
        await store.append("a", [goal(expected_seq=1)])
    assert (await store.append("a", [goal(expected_seq=3)])).state.seq == 4


async def test_retracts_refold_status(store: RedisStore) -> None:
    """Retracts by seq and by id, including one that undoes a status change (full log refold)."""
    await store.create_match(Match(id="a", home="A", away="B"))
    await store.append("a", [EventDraft("period_start", {}), goal(client_id="g")])
    by_id = await store.append("a", [EventDraft("retract", {"target_id": "g"})])
    assert by_id.state.score == {"home": 0, "away": 0} and by_id.state.retracted == {2}
    await store.append("a", [EventDraft("period_end", {"final": True})])
    reopened = await store.append("a", [EventDraft("retract", {"target": 4})])
    assert reopened.state.status == "live"


async def test_commits_reach_listeners_through_the_stream(store: RedisStore) -> None:
    """Listeners get each commit once, from the stream, with the state after each event."""
    seen: list[Committed] = []
    arrived = asyncio.Event()

    def listener(committed: Committed) -> None:
        seen.append(committed)
        if sum(len(c.acceptance.new_events) for c in seen) >= 3:
            arrived.set()

    store.add_commit_listener(listener)
    await store.create_match(Match(id="a", home="A", away="B"))
    await store.append("a", [EventDraft("period_start", {}), goal()])
    await store.append("a", [goal(client_id="x")])
    await store.append("a", [goal(client_id="x")])  # a pure repeat: not committed again
    await asyncio.wait_for(arrived.wait(), 5)
    events = [e.seq for c in seen for e in c.acceptance.new_events]
    scores = [s.home for c in seen for s in c.acceptance.after]
    assert events == [1, 2, 3] and scores == [0, 1, 2]
    assert seen[0].match.id == "a"


async def test_unreachable_redis_is_store_unavailable(store: RedisStore, redis_server: RedisServer) -> None:
    """With Redis gone, reads and appends raise StoreUnavailable quickly and ready() is False."""
    await store.create_match(Match(id="a", home="A", away="B"))
    redis_server.kill()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(StoreUnavailable):
        await store.append("a", [goal()])
    with pytest.raises(StoreUnavailable):
        await store.get("a")
    assert not await store.ready()
    assert loop.time() - started < 3
