"""Resume cursors carry the log's epoch (issue 10, item 10): after the SQLite file is lost and
the match made again and grown past a fan's cursor, that cursor gets a fresh snapshot of the
new log, never its events as if they followed the old ones; cursors without an epoch still
resume as before."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from support import AUTH, ServerProcess, free_port, read_sse_event


async def ws_message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


def wipe(db: Path) -> None:
    """What an ephemeral disk does at a restart."""
    for path in db.parent.glob(db.name + "*"):
        path.unlink()


async def play(http: aiohttp.ClientSession, team: str, player: str, goals: int) -> None:
    assert (await http.post("/api/matches", json={"id": "m", "home": "A", "away": "B"}, headers=AUTH)).status == 201
    events = [{"type": "period_start"}] + [{"type": "goal", "team": team, "player": player}] * goals
    assert (await http.post("/api/matches/m/events", json=events, headers=AUTH)).status == 201


async def test_a_cursor_into_a_lost_log_gets_a_snapshot_of_the_new_one(tmp_path: Path) -> None:
    """A cursor m:10@<old epoch>, by URL, subscribe op or SSE Last-Event-ID, gets a snapshot of
    the new log (seq 15, its own epoch); a cursor with the new epoch gets events 11-15, and so
    does an old cursor without an epoch."""
    server = ServerProcess(port=free_port(), db=tmp_path / "ephemeral.db")
    server.start("--ingest-rate", "0")
    try:
        async with aiohttp.ClientSession(server.url) as http:
            await play(http, "home", "Old", 9)
            async with http.ws_connect("/ws?matches=m") as ws:
                first = await ws_message(ws)
        old_epoch = first["epoch"]
        assert first["type"] == "snapshot" and first["match"]["seq"] == 10 and old_epoch
        server.stop()
        wipe(server.db)
        server.start("--ingest-rate", "0")
        async with aiohttp.ClientSession(server.url) as http:
            await play(http, "away", "New", 14)
            async with http.ws_connect(f"/ws?matches=m&since=m:10@{old_epoch}") as ws:
                fresh = await ws_message(ws)
            assert fresh["type"] == "snapshot" and fresh["match"]["seq"] == 15, fresh
            assert fresh["match"]["score"] == {"home": 0, "away": 14}
            new_epoch = fresh["epoch"]
            assert new_epoch != old_epoch
            async with http.ws_connect("/ws") as ws:
                await ws.send_json({"op": "subscribe", "matches": ["m"], "since": {"m": f"10@{old_epoch}"}})
                assert (await ws_message(ws))["type"] == "snapshot"
                assert (await ws_message(ws))["type"] == "subscribed"
                await ws.send_json({"op": "unsubscribe", "matches": ["m"]})
                assert (await ws_message(ws))["type"] == "unsubscribed"
                await ws.send_json({"op": "subscribe", "matches": ["m"], "since": {"m": f"10@{new_epoch}"}})
                resumed = [await ws_message(ws) for _ in range(5)]
                assert [(m["type"], m["seq"]) for m in resumed] == [("event", seq) for seq in range(11, 16)]
            async with http.get("/sse?matches=m", headers={"Last-Event-ID": f"m:10@{old_epoch}"}) as stream:
                snapshot = await read_sse_event(stream)
                assert snapshot["event"] == "snapshot" and snapshot["id"] == f"m:15@{new_epoch}", snapshot
            async with http.get(f"/sse?matches=m&since=m:13@{new_epoch}") as stream:
                ids = [(await read_sse_event(stream))["id"] for _ in range(2)]
                assert ids == [f"m:14@{new_epoch}", f"m:15@{new_epoch}"]
            async with http.ws_connect("/ws?matches=m&since=m:12") as ws:  # no epoch: as before
                assert [(await ws_message(ws))["seq"] for _ in range(3)] == [13, 14, 15]
            for bad in ("m:10@", "m:10@Not-Base36", "m:10@" + "a" * 17):
                async with http.get("/sse?matches=m", headers={"Last-Event-ID": bad}) as answer:
                    assert answer.status == 400, bad
    finally:
        server.stop()
