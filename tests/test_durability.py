"""An acknowledged event survives a restart: same state, same seqs, same idempotency keys."""
from __future__ import annotations

from scoreboard.web.app import create_app
from support import AUTH, create_match, post_events


async def test_state_and_seqs_survive_a_restart(aiohttp_client, settings):
    first = await aiohttp_client(create_app(settings))
    await create_match(first)
    await post_events(first, "arg-fra", [{"type": "period_start"}, {"type": "goal", "team": "home", "id": "g1"},
                                         {"type": "goal", "team": "away"}])
    await post_events(first, "arg-fra", {"type": "retract", "target": 3})
    before = await (await first.get("/api/matches/arg-fra")).json()
    events_before = await (await first.get("/api/matches/arg-fra/events")).json()
    await first.close()  # stops the app: the store closes its file

    second = await aiohttp_client(create_app(settings))
    after = await (await second.get("/api/matches/arg-fra")).json()
    assert after == before
    assert after["score"] == {"home": 1, "away": 0} and after["seq"] == 4
    assert await (await second.get("/api/matches/arg-fra/events")).json() == events_before
    # The next event continues the numbering, and an old client id is still known.
    assert (await post_events(second, "arg-fra", {"type": "goal", "team": "away"}))["seq"] == 5
    response = await second.post("/api/matches/arg-fra/events", headers=AUTH,
                                 json={"type": "goal", "team": "home", "id": "g1"})
    assert response.status == 200
    listed = await (await second.get("/api/matches")).json()
    assert [m["id"] for m in listed["matches"]] == ["arg-fra"]


async def test_concurrent_posts_to_many_matches_are_all_stored(aiohttp_client, settings):
    """Group commit: many scorekeepers at once, every 2xx durable, no gaps."""
    import asyncio

    first = await aiohttp_client(create_app(settings))
    for n in range(8):
        await create_match(first, f"m{n}")

    async def keeper(n: int) -> None:
        await post_events(first, f"m{n}", {"type": "period_start"})
        for _ in range(10):
            await post_events(first, f"m{n}", {"type": "goal", "team": "home"})

    await asyncio.gather(*(keeper(n) for n in range(8)))
    await first.close()
    second = await aiohttp_client(create_app(settings))
    for n in range(8):
        match = await (await second.get(f"/api/matches/m{n}")).json()
        assert match["seq"] == 11 and match["score"]["home"] == 10
        events = (await (await second.get(f"/api/matches/m{n}/events")).json())["events"]
        assert [e["seq"] for e in events] == list(range(1, 12))
