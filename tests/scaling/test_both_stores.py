"""The embedded and the Redis store keep the same match fields and states (clock, shootout),
because both run the same pure rules; and both read back what they stored after a reopen."""
from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from redis_server import RedisServer
from scoreboard.domain import EventDraft, Match, MatchState
from scoreboard.store.base import EventStore
from scoreboard.store.redis import RedisStore
from scoreboard.store.sqlite import SqliteStore

StoreMaker = Callable[[], EventStore]

FINAL = Match(
    id="arg-fra", home="Argentina", away="France", starts_at="2022-12-18T15:00:00Z",
    competition="FIFA World Cup 2022", stage="Final", venue="Lusail Stadium",
)
NBA = Match(id="lal-bos", home="Lakers", away="Celtics", sport="basketball", period_minutes=12)


@pytest.fixture(params=["sqlite", "redis"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreMaker]:
    """make_store() -> a new store object on the same file / Redis prefix (a restart)."""
    if request.param == "sqlite":
        def make() -> EventStore:
            return SqliteStore(tmp_path / "both.db")
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        prefix = f"test-{uuid.uuid4().hex[:8]}:"

        def make() -> EventStore:
            return RedisStore(server.url, prefix=prefix, timeout=1.0)
    yield make


def d(kind: str, **fields: object) -> EventDraft:
    return EventDraft(kind, fields)


async def play_final(store: EventStore) -> MatchState:
    await store.create_match(FINAL)
    await store.append("arg-fra", [d("period_start"), d("goal", team="home", player="Messi", minute=23,
                                                         penalty=True)])
    await store.append("arg-fra", [d("added_time", minutes=7), d("clock", action="set", elapsed=2900)])
    await store.append("arg-fra", [d("period_end"), d("period_start", period=4),
                                   d("substitution", team="away", player_in="Kolo Muani", player_out="Dembélé")])
    await store.append("arg-fra", [d("period_end"), d("period_start", period=5)])
    for team, scored in (("away", True), ("home", True), ("away", False)):
        await store.append("arg-fra", [d("shootout_kick", team=team, scored=scored, player="x")])
    wrong = await store.append("arg-fra", [d("shootout_kick", team="home", scored=False)])
    await store.append("arg-fra", [d("retract", target=wrong.new_events[0].seq), d("period_end", final=True)])
    return (await store.get("arg-fra"))[1]


async def test_fixture_fields_clock_and_shootout_are_stored_and_read_back(make_store: StoreMaker) -> None:
    """Every match field and the whole state (clock, board, shootout, winner) survive a reopen."""
    store = make_store()
    await store.open()
    try:
        state = await play_final(store)
        await store.create_match(NBA)
        await store.append("lal-bos", [d("period_start", period=2), d("points", team="away", value=3)])
    finally:
        await store.close()
    again = make_store()
    await again.open()
    try:
        match, reread = await again.get("arg-fra")
        assert match == FINAL
        assert reread == state
        assert reread.status == "finished" and reread.winner == "home" and reread.score == {"home": 1, "away": 0}
        assert reread.shootout is not None and (reread.shootout.home, reread.shootout.away) == (1, 1)
        assert [k.team for k in reread.shootout.kicks] == ["away", "home", "away"]
        assert reread.shootout.after_period == 4 and reread.added_time is None
        assert not reread.clock.running
        listed = {m.id: (m, s) for m, s in await again.list_matches()}
        assert listed["arg-fra"] == (FINAL, reread)
        nba, nba_state = listed["lal-bos"]
        assert nba == NBA and nba.profile.period_minutes == 12
        assert nba_state.clock.running and nba_state.clock.elapsed == 720
        events = await again.events_since("arg-fra", 0)
        assert events[1].fields["minute_label"] == "23'" and events[1].fields["period"] == 1
    finally:
        await again.close()


async def test_both_stores_fold_the_same_states(make_store: StoreMaker, tmp_path: Path) -> None:
    """The same drafts give the same state in this store as in a fresh SQLite (same rules),
    apart from the server instants."""
    store = make_store()
    reference = SqliteStore(tmp_path / "reference.db")
    await store.open()
    await reference.open()
    try:
        ours, theirs = await play_final(store), await play_final(reference)
        def comparable(state: MatchState) -> tuple[object, ...]:
            return (state.status, state.period, state.score, state.seq, state.retracted,
                    state.clock.running, state.added_time, state.shootout)
        assert comparable(ours) == comparable(theirs)
    finally:
        await store.close()
        await reference.close()


async def test_redis_state_from_an_older_version_is_refolded_on_the_next_append(redis_server: RedisServer) -> None:
    """A state stored without a clock (first release) gets its clock from the log again."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    store = RedisStore(redis_server.url, prefix=prefix, timeout=1.0)
    await store.open()
    try:
        await store.create_match(Match(id="old", home="A", away="B"))
        started = await store.append("old", [d("period_start")])
        kickoff = started.new_events[0].at
        # What the first release stored: no "v", no clock.
        old_state = {"status": "live", "period": 1, "home": 0, "away": 0, "seq": 1, "retracted": []}
        client = store._db()  # the store's own connection: no second client to manage
        await client.hset(f"{prefix}match:old", "state", json.dumps(old_state))
        _, before = await store.get("old")
        assert not before.clock.running
        after = await store.append("old", [d("goal", team="home")])
        assert after.state.clock.running and after.state.clock.at == kickoff
        assert after.new_events[0].fields["minute"] >= 1
    finally:
        await store.close()
