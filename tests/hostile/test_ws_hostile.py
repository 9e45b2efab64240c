"""Malformed, binary, huge and flooding WebSocket clients: that one connection suffers, nobody else."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from support import create_match, post_events, receive_json


async def next_non_error(ws: Any) -> dict[str, Any]:
    while True:
        message = await receive_json(ws)
        if message["type"] != "error":
            return message


async def assert_still_served(client: Any, match_id: str = "m1") -> None:
    """A new fan subscribes, gets the snapshot and then a live event promptly."""
    async with client.ws_connect(f"/ws?matches={match_id}") as fan:
        assert (await receive_json(fan))["type"] == "snapshot"
        assert (await receive_json(fan))["type"] == "subscribed"
        body = await post_events(client, match_id, {"type": "notification", "title": "still here"})
        live = await receive_json(fan)
        assert live["type"] == "event" and live["seq"] == body["seq"]


async def test_bad_json_and_wrong_shapes_get_errors_and_the_connection_stays(client: Any) -> None:
    """Bad JSON, non-objects, unknown ops and bad fields each answer an error; ping still works."""
    await create_match(client, "m1")
    async with client.ws_connect("/ws") as ws:
        for junk in ("{not json", "[]", "42", '"subscribe"', "null", '{"op": "explode"}',
                     '{"op": "subscribe"}', '{"op": "subscribe", "matches": "m1"}',
                     '{"op": "subscribe", "matches": [1, 2]}',
                     '{"op": "subscribe", "matches": ["m1"], "since": {"m1": -1}}',
                     '{"op": "subscribe", "matches": ["m1"], "since": [1]}', "\u0000" * 10):
            await ws.send_str(junk)
            answer = await receive_json(ws)
            assert answer["type"] == "error" and answer["code"], (junk, answer)
        await ws.send_json({"op": "ping"})
        assert (await receive_json(ws)) == {"type": "pong"}
    await assert_still_served(client)


async def test_binary_frames_are_refused_without_harm(client: Any) -> None:
    """A binary frame gets an error (or a close) on that connection only."""
    await create_match(client, "m1")
    async with client.ws_connect("/ws") as ws:
        await ws.send_bytes(b"\x00\x01\x02" * 100)
        message = await asyncio.wait_for(ws.receive(), 3)
        if message.type == aiohttp.WSMsgType.TEXT:
            assert json.loads(message.data)["type"] == "error"
        else:
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await assert_still_served(client)


async def test_huge_frame_closes_with_1009(client: Any, settings: Any) -> None:
    """A message over max_ws_message_bytes closes that connection with 1009 (message too big)."""
    await create_match(client, "m1")
    async with client.ws_connect("/ws") as ws:
        await ws.send_str(json.dumps({"op": "subscribe", "matches": ["m1"], "pad": "x" * (settings.max_ws_message_bytes + 1)}))
        message = await asyncio.wait_for(ws.receive(), 3)
        assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1009, message
    await assert_still_served(client)


async def test_subscribe_flood_is_bounded_and_others_are_served(client: Any, settings: Any) -> None:
    """Thousands of subscribe ops, many over the per-connection cap: answered or cut, never a crash."""
    await create_match(client, "m1")
    limit = settings.max_subscriptions
    async with client.ws_connect("/ws") as flooder:
        for i in range(1000):
            names = [f"nope-{i}-{j}" for j in range(5)] if i % 2 else ["m1", "*"]
            await flooder.send_json({"op": "subscribe", "matches": names})
        await flooder.send_json({"op": "subscribe", "matches": [f"x{j}" for j in range(limit + 1)]})
        seen = {"subscribed": 0, "error": 0}
        codes = set()
        closed = False
        while True:
            try:
                message = await asyncio.wait_for(flooder.receive(), 5)
            except asyncio.TimeoutError:
                break
            if message.type != aiohttp.WSMsgType.TEXT:
                closed = True
                break
            data = json.loads(message.data)
            seen[data["type"]] = seen.get(data["type"], 0) + 1
            if data["type"] == "error":
                codes.add(data["code"])
            if data["type"] == "subscribed":
                assert len(data["matches"]) <= limit
            if seen["subscribed"] + seen["error"] >= 1000 + 1 and "too_many_subscriptions" in codes:
                break
        assert closed or "too_many_subscriptions" in codes or seen["subscribed"] >= 1
        await assert_still_served(client)
    assert (await client.get("/healthz")).status == 200
