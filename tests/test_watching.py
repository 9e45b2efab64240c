"""'N watching' in one process: real WebSocket and SSE fans, the API, the live message."""
from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest

from scoreboard.settings import Settings
from scoreboard.web.app import create_app
from support import assert_nothing_arrives, create_match, post_events, read_sse_event, receive_json

INTERVAL = 0.1  # seconds between counts here (5 by default)


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> Any:
    return await aiohttp_client(create_app(replace(settings, watching_interval=INTERVAL)))


async def fan(client: Any, match_id: str = "arg-fra") -> Any:
    """A WebSocket fan past its snapshot and confirmation."""
    ws = await client.ws_connect(f"/ws?matches={match_id}")
    assert (await receive_json(ws))["type"] == "snapshot"
    assert (await receive_json(ws))["type"] == "subscribed"
    return ws


async def watching_of(client: Any, match_id: str = "arg-fra") -> int:
    response = await client.get(f"/api/matches/{match_id}")
    assert response.status == 200
    return int((await response.json())["watching"])


async def until_watching(client: Any, count: int, match_id: str = "arg-fra", timeout: float = 3.0) -> None:
    """The API says `count` within `timeout` (a few counting rounds)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (seen := await watching_of(client, match_id)) != count:
        assert asyncio.get_running_loop().time() < deadline, f"watching stayed {seen}, expected {count}"
        await asyncio.sleep(INTERVAL / 2)


async def next_watching(ws: Any, timeout: float = 3.0) -> dict[str, Any]:
    """The next `watching` message; any other message first fails the test."""
    message = await receive_json(ws, timeout, watching=True)
    assert message["type"] == "watching", message
    return message


async def told_until(ws: Any, count: int) -> dict[str, Any]:
    """Watching messages up to the one that says `count`. A count taken while fans were still
    joining may come first (1, then 2), but each message says a new, higher number: one
    message per change, none past what the API says."""
    counts: list[int] = []
    while not counts or counts[-1] != count:
        message = await next_watching(ws)
        counts.append(message["count"])
        assert counts == sorted(set(counts)) and counts[-1] <= count, counts
    return message


async def test_websocket_and_sse_fans_are_counted_and_told(client: Any) -> None:
    """Two WebSocket fans and one SSE fan: the API says 3, each WebSocket fan is sent 3, and
    the SSE fan gets it as an unnamed message without an id (its resume cursor stays). The
    next event still arrives after it, in order (the WebSocket fans are in the direct lane,
    as up-to-date fans of a match with a published event are)."""
    await create_match(client)
    await post_events(client, "arg-fra", {"type": "period_start"})
    assert await watching_of(client) == 0
    first, second = await fan(client), await fan(client)
    async with client.get("/sse?matches=arg-fra") as stream:
        snapshot = await read_sse_event(stream)
        assert snapshot["event"] == "snapshot"
        await until_watching(client, 3)
        for ws in (first, second):
            message = await told_until(ws, 3)
            assert message == {"type": "watching", "match_id": "arg-fra", "count": 3}
        seen = await read_sse_event(stream)
        while json.loads(seen["data"])["count"] != 3:
            seen = await read_sse_event(stream)
        assert seen["event"] == "message" and "id" not in seen
        assert json.loads(seen["data"]) == {"type": "watching", "match_id": "arg-fra", "count": 3}
        await post_events(client, "arg-fra", {"type": "goal", "team": "home"})
        for ws in (first, second):
            goal = await receive_json(ws, watching=True)
            assert (goal["type"], goal["seq"]) == ("event", 2)
        goal_event = await read_sse_event(stream)
        assert goal_event["event"] == "event" and goal_event["id"].startswith("arg-fra:2@")
    await first.close()
    assert (await next_watching(second))["count"] == 1
    await until_watching(client, 1)
    await second.close()


async def test_a_count_that_did_not_change_is_not_sent_again(client: Any) -> None:
    """After telling the count once, a fan hears nothing more while nobody comes or goes."""
    await create_match(client)
    ws = await fan(client)
    assert (await next_watching(ws))["count"] == 1
    await assert_nothing_arrives(ws, within=INTERVAL * 5, watching=True)
    await ws.close()


async def test_snapshot_and_page_carry_the_count(client: Any) -> None:
    """A fan joining later reads the count in its snapshot's match view; the page shows it."""
    await create_match(client)
    ws = await fan(client)
    await until_watching(client, 1)
    late = await client.ws_connect("/ws?matches=arg-fra")
    snapshot = await receive_json(late)
    assert snapshot["type"] == "snapshot" and snapshot["match"]["watching"] == 1
    page = await (await client.get("/matches/arg-fra")).text()
    assert 'data-watching="1"' in page
    await late.close()
    await ws.close()


async def test_wildcard_subscribers_and_other_matches_do_not_count(client: Any) -> None:
    """A '*' subscriber (a dashboard) is no fan of each match, nor a fan of one match of another."""
    await create_match(client)
    await create_match(client, "bra-ger")
    dashboard = await client.ws_connect("/ws?matches=*")
    other = await fan(client, "bra-ger")
    await until_watching(client, 1, "bra-ger")
    assert await watching_of(client) == 0
    # The dashboard hears of no match's count: it watches none of them.
    messages = []
    while True:
        try:
            messages.append(await receive_json(dashboard, INTERVAL * 4, watching=True))
        except asyncio.TimeoutError:
            break
    assert [m for m in messages if m["type"] == "watching"] == []
    await dashboard.close()
    await other.close()
