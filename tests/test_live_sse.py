"""The SSE fallback: same payloads, resumable ids, keep-alives."""
from __future__ import annotations

import json

from support import create_match, post_events, read_sse_event


async def test_sse_sends_snapshot_then_events_with_resumable_ids(client):
    await create_match(client)
    await post_events(client, "arg-fra", {"type": "period_start"})
    async with client.get("/sse?matches=arg-fra") as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        first = await read_sse_event(response)
        assert first["event"] == "snapshot" and first["id"].startswith("arg-fra:1@")
        assert json.loads(first["data"])["match"]["seq"] == 1
        await post_events(client, "arg-fra", {"type": "goal", "team": "home"})
        live = await read_sse_event(response)
        assert live["event"] == "event" and live["id"] == first["id"].replace(":1@", ":2@")
        assert json.loads(live["data"])["score"] == {"home": 1, "away": 0}


async def test_last_event_id_resumes_after_a_drop(client):
    """A reconnect with Last-Event-ID gets exactly the events it missed."""
    await create_match(client)
    await post_events(client, "arg-fra", [{"type": "period_start"}, {"type": "goal", "team": "home"},
                                          {"type": "goal", "team": "away"}])
    async with client.get("/sse?matches=arg-fra", headers={"Last-Event-ID": "arg-fra:1"}) as response:
        missed = [await read_sse_event(response), await read_sse_event(response)]
        assert [m["id"].split("@")[0] for m in missed] == ["arg-fra:2", "arg-fra:3"]
        assert [json.loads(m["data"])["seq"] for m in missed] == [2, 3]


async def test_sse_is_readable_cross_origin(client):
    await create_match(client)
    async with client.get("/sse?matches=arg-fra", headers={"Origin": "https://news.example"}) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_sse_without_matches_is_400_json(client):
    response = await client.get("/sse")
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "bad_request"
