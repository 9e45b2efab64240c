"""A cap on live connections opening at once (issue 14, deploy storm): past it a new one is
answered 503 with Retry-After at once, scorekeepers' POSTs are still answered, and every
opening gives its place back, however it ends."""
from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import aiohttp
import pytest

from scoreboard.settings import Settings
from scoreboard.web.app import create_app
from scoreboard.web.keys import HANDSHAKES_KEY
from support import ServiceTestServer, create_match, post_events, receive_json


@pytest.fixture(params=["front door", "route"])
async def capped(request: pytest.FixtureRequest, aiohttp_client: Any, settings: Settings) -> Any:
    """Served as in production (the listener's front door opens fans, and leaves what the cap
    refuses to the route), and by aiohttp alone (the route does it all)."""
    app = create_app(dataclasses.replace(settings, max_handshakes=2))
    return await aiohttp_client(ServiceTestServer(app) if request.param == "front door" else app)


async def test_past_the_cap_a_new_live_connection_gets_503_and_posts_still_work(capped: Any) -> None:
    """With the cap's places all taken (two fans opening), a WebSocket and an SSE stream get
    503 + Retry-After: 1 with a JSON error, a POST is answered 201, and once a place is free
    the next fan opens and subscribes."""
    await create_match(capped, "final")
    admission = capped.app[HANDSHAKES_KEY]
    places = [admission.admit(), admission.admit()]  # two openings in progress

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await capped.ws_connect("/ws?matches=final")
    assert refused.value.status == 503
    assert refused.value.headers is not None and refused.value.headers.get("Retry-After") == "1"
    sse = await capped.get("/sse?matches=final")
    assert sse.status == 503 and sse.headers["Retry-After"] == "1"
    assert (await sse.json())["error"]["code"] == "unavailable"
    await post_events(capped, "final", {"type": "period_start"})
    assert admission.refused == 2
    # An operator sees the storm on /metrics: two openings in progress, two refused.
    scraped = await (await capped.get("/metrics")).text()
    assert "scoreboard_live_openings 2.0" in scraped
    assert "scoreboard_live_openings_refused_total 2.0" in scraped

    places[0]()
    async with capped.ws_connect("/ws?matches=final") as ws:
        assert (await receive_json(ws))["type"] == "snapshot"
        assert (await receive_json(ws))["type"] == "subscribed"
        assert admission.in_progress == 1  # its own place is back once it has its catch-up
    places[1]()


async def test_every_opening_gives_its_place_back(capped: Any) -> None:
    """Fans that subscribe, follow nothing, ask for an unknown match, wait for auth on a
    private match, or hang up at once all leave the count at zero."""
    await create_match(capped, "open")
    await create_match(capped, "secret", private=True)
    admission = capped.app[HANDSHAKES_KEY]
    for path in ("/ws?matches=open", "/ws", "/ws?matches=nope", "/ws?matches=secret"):
        async with capped.ws_connect(path) as ws:
            if path in ("/ws", "/ws?matches=secret"):
                await asyncio.sleep(0.05)  # nothing to say yet: it follows nothing / waits for auth
            else:
                await receive_json(ws)
        async with capped.ws_connect(path):
            pass  # gone before its opening finished, perhaps
    async with capped.get("/sse?matches=open") as sse:
        await asyncio.wait_for(sse.content.readline(), 3)

    async def settled() -> None:
        while admission.in_progress:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(settled(), 3)
    assert admission.refused == 0
