"""The WebSocket protocol with a real client over a real socket."""
from __future__ import annotations

import asyncio

import aiohttp

from support import assert_nothing_arrives, create_match, post_events, receive_json


async def test_subscribe_by_url_gets_snapshot_then_live_events(client):
    await create_match(client)
    await post_events(client, "arg-fra", [{"type": "period_start"}, {"type": "goal", "team": "home"}])
    async with client.ws_connect("/ws?matches=arg-fra") as ws:
        snapshot = await receive_json(ws)
        assert snapshot["type"] == "snapshot"
        assert snapshot["match"]["score"] == {"home": 1, "away": 0} and snapshot["match"]["seq"] == 2
        assert [e["seq"] for e in snapshot["events"]] == [1, 2]
        assert (await receive_json(ws))["type"] == "subscribed"
        await post_events(client, "arg-fra", {"type": "goal", "team": "away", "player": "Mbappé"})
        live = await receive_json(ws)
        assert live["type"] == "event" and live["match_id"] == "arg-fra" and live["seq"] == 3
        assert live["event"]["player"] == "Mbappé"
        assert live["score"] == {"home": 1, "away": 1} and live["status"] == "live"


async def test_events_go_only_to_fans_of_that_match(client):
    await create_match(client, "a")
    await create_match(client, "b")
    async with client.ws_connect("/ws?matches=a") as fan_a, client.ws_connect("/ws?matches=*") as fan_all:
        await receive_json(fan_a)
        await receive_json(fan_a)
        assert (await receive_json(fan_all))["type"] == "subscribed"
        await post_events(client, "b", {"type": "period_start"})
        await post_events(client, "a", {"type": "period_start"})
        assert (await receive_json(fan_a))["match_id"] == "a"
        assert [(await receive_json(fan_all))["match_id"] for _ in range(2)] == ["b", "a"]
        await assert_nothing_arrives(fan_a)


async def test_resume_with_since_sends_exactly_the_missed_events(client):
    """A fan back from a blip gets the events after its last seq, in order, then live ones."""
    await create_match(client)
    await post_events(client, "arg-fra", [{"type": "period_start"}, {"type": "goal", "team": "home"}])
    await post_events(client, "arg-fra", [{"type": "goal", "team": "away"}, {"type": "goal", "team": "home"}])
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"op": "subscribe", "matches": ["arg-fra"], "since": {"arg-fra": 2}})
        missed = [await receive_json(ws), await receive_json(ws)]
        assert [(m["type"], m["seq"]) for m in missed] == [("event", 3), ("event", 4)]
        assert missed[0]["score"] == {"home": 1, "away": 1}
        assert missed[1]["score"] == {"home": 2, "away": 1}
        assert (await receive_json(ws))["type"] == "subscribed"
        await post_events(client, "arg-fra", {"type": "card", "team": "away", "color": "yellow"})
        assert (await receive_json(ws))["seq"] == 5


async def test_resume_from_a_future_seq_falls_back_to_a_snapshot(client):
    """A cursor the log never reached (e.g. a reset server) gets a fresh snapshot."""
    await create_match(client)
    async with client.ws_connect("/ws?matches=arg-fra&since=arg-fra:99") as ws:
        assert (await receive_json(ws))["type"] == "snapshot"


async def test_resume_is_gap_free_while_events_keep_coming(client):
    """Subscribing during a burst of posts yields every seq exactly once, in order."""
    await create_match(client)
    await post_events(client, "arg-fra", {"type": "period_start"})

    async def keep_posting():
        for _ in range(30):
            await post_events(client, "arg-fra", {"type": "goal", "team": "home"})

    poster = asyncio.create_task(keep_posting())
    await asyncio.sleep(0.01)
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"op": "subscribe", "matches": ["arg-fra"], "since": {"arg-fra": 1}})
        await poster
        seqs = []
        while len(seqs) < 30:
            message = await receive_json(ws)
            if message["type"] == "event":
                seqs.append(message["seq"])
        assert seqs == list(range(2, 32))
        await assert_nothing_arrives(ws)


async def test_unsubscribe_stops_the_feed(client):
    await create_match(client)
    async with client.ws_connect("/ws?matches=arg-fra") as ws:
        await receive_json(ws)
        await receive_json(ws)
        await ws.send_json({"op": "unsubscribe", "matches": ["arg-fra"]})
        assert (await receive_json(ws))["type"] == "unsubscribed"
        await post_events(client, "arg-fra", {"type": "period_start"})
        await assert_nothing_arrives(ws)


async def test_bad_messages_get_errors_and_the_connection_stays_up(client):
    await create_match(client)
    async with client.ws_connect("/ws") as ws:
        for bad in ("not json", "[1,2]", '{"op": "dance"}', '{"op": "subscribe"}',
                    '{"op": "subscribe", "matches": ["arg-fra"], "since": {"arg-fra": -1}}'):
            await ws.send_str(bad)
            reply = await receive_json(ws)
            assert reply["type"] == "error" and reply["code"] == "bad_message", bad
        await ws.send_bytes(b"\x00\x01")
        assert (await receive_json(ws))["type"] == "error"
        await ws.send_json({"op": "subscribe", "matches": ["no-such-match"]})
        assert (await receive_json(ws))["code"] == "not_found"
        await ws.send_json({"op": "ping"})
        assert (await receive_json(ws))["type"] in ("subscribed", "pong")


async def test_permessage_deflate_is_declined(client):
    """A browser-like client offering compression gets an uncompressed connection."""
    async with client.ws_connect("/ws", compress=15) as ws:
        assert ws.compress == 0


async def test_slow_consumer_is_disconnected_with_1013_and_can_resume(aiohttp_client, settings):
    """A fan that stops reading is cut off with a clear code; others keep receiving."""
    from dataclasses import replace

    from scoreboard.web.app import create_app

    client = await aiohttp_client(create_app(replace(settings, subscriber_buffer=100, ingest_rate=0)))
    await create_match(client)
    await post_events(client, "arg-fra", {"type": "period_start"})
    slow = await client.ws_connect("/ws?matches=arg-fra&since=arg-fra:1", max_msg_size=0)
    fast = await client.ws_connect("/ws?matches=arg-fra&since=arg-fra:1")
    await receive_json(fast)
    # Stop the slow fan's socket from being read so its server-side buffer fills.
    slow._response.connection.transport.pause_reading()
    # Enough bytes to fill the kernel's socket buffers too (several MB on loopback).
    batch = [{"type": "notification", "title": "x" * 100, "text": "y" * 700}] * 50
    for _ in range(150):
        await post_events(client, "arg-fra", batch)
        seen = 0
        while seen < 50:
            message = await receive_json(fast)
            seen += message["type"] == "event"
    slow._response.connection.transport.resume_reading()
    closed = None
    for _ in range(10000):
        message = await asyncio.wait_for(slow.receive(), 5)
        if message.type != aiohttp.WSMsgType.TEXT:
            closed = message
            break
    assert closed is not None and closed.type == aiohttp.WSMsgType.CLOSE
    assert closed.data == 1013 and "resume" in closed.extra
    await fast.close()


async def test_snapshots_follow_the_score_for_fans_joining_one_after_another(client):
    """Each joining fan's snapshot is as of the latest event (the built snapshot is reused
    only while nothing new has happened)."""
    await create_match(client)
    await post_events(client, "arg-fra", [{"type": "period_start"}, {"type": "goal", "team": "home"}])
    seen = []
    for goal in ("away", "home", None):
        async with client.ws_connect("/ws?matches=arg-fra") as ws:
            snapshot = await receive_json(ws)
            seen.append((snapshot["match"]["seq"], snapshot["match"]["score"], len(snapshot["events"])))
        async with client.ws_connect("/ws?matches=arg-fra") as again:
            assert await receive_json(again) == snapshot  # nothing new: the same snapshot
        if goal:
            await post_events(client, "arg-fra", {"type": "goal", "team": goal})
    assert seen == [(2, {"home": 1, "away": 0}, 2), (3, {"home": 1, "away": 1}, 3), (4, {"home": 2, "away": 1}, 4)]
