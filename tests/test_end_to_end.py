"""The real server process, started as `make run` starts it, with real HTTP and WebSocket clients."""
from __future__ import annotations

import asyncio
import signal

import aiohttp

from support import AUTH


async def test_goal_reaches_a_websocket_fan_and_survives_a_restart(server_process):
    server_process.start()
    async with aiohttp.ClientSession(server_process.url) as http:
        assert (await http.get("/healthz")).status == 200
        response = await http.post("/api/matches", headers=AUTH,
                                   json={"id": "final", "home": "Argentina", "away": "France"})
        assert response.status == 201
        async with http.ws_connect("/ws?matches=final") as ws:
            snapshot = await asyncio.wait_for(ws.receive_json(), 5)
            assert snapshot["type"] == "snapshot"
            await asyncio.wait_for(ws.receive_json(), 5)  # subscribed
            response = await http.post("/api/matches/final/events", headers=AUTH,
                                       json=[{"type": "period_start"},
                                             {"type": "goal", "team": "home", "player": "Messi"}])
            assert response.status == 201
            seqs = [(await asyncio.wait_for(ws.receive_json(), 5))["seq"] for _ in range(2)]
            assert seqs == [1, 2]
            page = await http.get("/matches/final")
            assert page.status == 200 and "Messi" in await page.text()
            # Stopped from a thread while this loop reads the close frame and answers it: a
            # blocked loop would leave the server waiting out its closing timeout.
            stopped = asyncio.ensure_future(asyncio.to_thread(server_process.stop, signal.SIGTERM))
            closing = await asyncio.wait_for(ws.receive(), 5)
            assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data in (1001, 1012)
            assert await asyncio.wait_for(stopped, 30) == 0

    server_process.start()
    async with aiohttp.ClientSession(server_process.url) as http:
        match = await (await http.get("/api/matches/final")).json()
        assert match["score"] == {"home": 1, "away": 0} and match["seq"] == 2
    assert server_process.stop(signal.SIGINT) == 0
