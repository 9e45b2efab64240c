"""A lone surrogate can no longer poison a match (issue 10, item 2): text stored before such
input was refused is still served everywhere, and an event whose live frame cannot be built
never leaves a silent hole: its fans resync from the store and /metrics counts the error."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import scoreboard.frames
import scoreboard.service
from support import AUTH, ServerProcess, create_match, free_port, post_events, read_sse_event, receive_json


def poison(db: Path, match_id: str, seq: int, player: str) -> None:
    """Rewrite a stored goal's player as an older version would have stored a lone surrogate
    (json.dumps escapes it: the row itself is plain ASCII)."""
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT fields FROM events WHERE match_id = ? AND seq = ?", (match_id, seq)).fetchone()
        fields = json.loads(row[0])
        fields["player"] = player
        conn.execute("UPDATE events SET fields = ? WHERE match_id = ? AND seq = ?",
                     (json.dumps(fields), match_id, seq))


async def ws_message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.TEXT, f"not a text frame: {message}"
    return json.loads(message.data)


async def test_text_stored_before_the_fix_is_served_everywhere(tmp_path: Path) -> None:
    """A goal stored with a lone surrogate: resuming fans get it in order, new fans get the
    snapshot, SSE streams, the page and the API answer 200, and live events keep coming."""
    server = ServerProcess(port=free_port(), db=tmp_path / "old.db")
    server.start()
    async with aiohttp.ClientSession(server.url) as http:
        await http.post("/api/matches", json={"id": "m", "home": "A", "away": "B"}, headers=AUTH)
        await http.post("/api/matches/m/events", headers=AUTH, json=[
            {"type": "period_start"}, {"type": "goal", "team": "home", "player": "X"},
            {"type": "goal", "team": "away", "player": "Y"}])
    server.stop()
    poison(server.db, "m", 2, "\ud800")
    server.start()
    try:
        async with aiohttp.ClientSession(server.url) as http:
            async with http.ws_connect("/ws?matches=m&since=m:1") as resuming, http.ws_connect("/ws?matches=m") as fresh:
                replayed = [await ws_message(resuming), await ws_message(resuming)]
                assert [(m["type"], m["seq"]) for m in replayed] == [("event", 2), ("event", 3)]
                assert replayed[0]["event"]["player"] == "\ud800"  # sent as the JSON escape it was
                snapshot = await ws_message(fresh)
                assert snapshot["type"] == "snapshot" and snapshot["match"]["seq"] == 3
                for ws in (resuming, fresh):
                    assert (await ws_message(ws))["type"] == "subscribed"
                async with http.get("/sse?matches=m") as stream:
                    assert stream.status == 200
                    first = await read_sse_event(stream)
                    assert first["event"] == "snapshot" and json.loads(first["data"])["match"]["seq"] == 3
                for path in ("/matches/m", "/embed/m", "/api/matches/m/events", "/api/matches/m", "/"):
                    async with http.get(path) as page:
                        assert page.status == 200, (path, await page.text())
                async with http.get("/matches/m") as page:
                    assert "\ufffd" in await page.text()
                await http.post("/api/matches/m/events", json={"type": "goal", "team": "home"}, headers=AUTH)
                for ws in (resuming, fresh):
                    live = await ws_message(ws)
                    assert live["type"] == "event" and live["seq"] == 4
    finally:
        server.stop()
    assert server.log_path is not None and "Traceback" not in server.log_path.read_text(errors="replace")


@pytest.fixture
def unframeable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: building the live frame of any event whose player is "boom" fails,
    as an unforeseen bug in frame building would."""
    real = scoreboard.service.event_frame

    def failing(match_id: str, event: Any, state: Any) -> Any:
        if event.fields.get("player") == "boom":
            raise RuntimeError("injected: this event cannot be framed")
        return real(match_id, event, state)

    monkeypatch.setattr(scoreboard.service, "event_frame", failing)
    monkeypatch.setattr(scoreboard.frames, "event_frame", failing)  # rebuilding from the log too


class Follower:
    """What one fan saw of a match: each message an event (the next seq) or a snapshot (a
    resync: the cursor jumps to its seq). A silent hole fails `take`."""

    def __init__(self, cursor: int) -> None:
        self.cursor = cursor
        self.snapshots = 0

    def take(self, message: dict[str, Any]) -> None:
        if message["type"] == "snapshot":
            assert message["match"]["seq"] > self.cursor, message
            self.cursor = message["match"]["seq"]
            self.snapshots += 1
        else:
            assert message["type"] == "event" and message["seq"] == self.cursor + 1, (self.cursor, message)
            self.cursor = message["seq"]


async def follow_ws(ws: Any, follower: Follower, until: int) -> None:
    while follower.cursor < until:
        message = await receive_json(ws)
        if message["type"] in ("event", "snapshot"):
            follower.take(message)


async def follow_sse(stream: Any, follower: Follower, until: int) -> None:
    while follower.cursor < until:
        message = await read_sse_event(stream)
        if message["event"] in ("event", "snapshot"):
            follower.take(json.loads(message["data"]))
            assert message["id"].split("@")[0] == f"m:{follower.cursor}", message


async def test_an_event_that_cannot_be_framed_makes_its_fans_resync(client: Any, unframeable: None) -> None:
    """Fans in the direct lane, wildcard fans and SSE fans never see seq 1 then seq 3: the
    missing seq comes from the store (the event, or a snapshot that includes it) before seq
    3; and /metrics counts the failure."""
    await create_match(client, "m")
    await post_events(client, "m", {"type": "period_start"})
    async with client.ws_connect("/ws?matches=m") as named, client.ws_connect("/ws?matches=*") as wildcard:
        assert (await receive_json(named))["type"] == "snapshot"
        assert (await receive_json(named))["type"] == "subscribed"
        assert (await receive_json(wildcard))["type"] == "subscribed"
        async with client.get("/sse?matches=m") as stream:
            assert (await read_sse_event(stream))["event"] == "snapshot"
            body = await post_events(client, "m", {"type": "goal", "team": "home", "player": "boom"})
            assert body["seq"] == 2  # stored and acknowledged: the failure is in the fan-out only
            await post_events(client, "m", {"type": "goal", "team": "away", "player": "fine"})
            named_view, wildcard_view, sse_view = Follower(1), Follower(1), Follower(1)
            await follow_ws(named, named_view, 3)
            await follow_ws(wildcard, wildcard_view, 3)
            await follow_sse(stream, sse_view, 3)
            assert wildcard_view.snapshots == 1  # no cursor of its own: the whole match
    metrics = await (await client.get("/metrics")).text()
    assert "scoreboard_publish_errors_total 1.0" in metrics


async def test_fans_resuming_across_an_unframeable_event_get_the_rest(client: Any, unframeable: None) -> None:
    """A fan resuming from before the unframeable event gets the rest of the match (the events
    or a snapshot), not an error or a hole."""
    await create_match(client, "m")
    await post_events(client, "m", [{"type": "period_start"}, {"type": "goal", "team": "home", "player": "boom"},
                                    {"type": "goal", "team": "home"}])
    async with client.ws_connect("/ws?matches=m&since=m:1") as ws:
        view = Follower(1)
        await follow_ws(ws, view, 3)
        assert view.snapshots == 1  # the events cannot be rebuilt either: the whole match instead
