"""SIGTERM on the real process: in-flight ingest answered, live clients told to reconnect, quick exit."""
from __future__ import annotations

import asyncio
import json
import signal
import time
from typing import Any

import aiohttp
import pytest

from support import AUTH, KEY, ServerProcess

pytestmark = pytest.mark.timeout(60)


async def read_sse_event(response: aiohttp.ClientResponse, wanted: str, timeout: float = 5.0) -> dict[str, Any]:
    """The data of the next SSE message whose `event:` is `wanted`."""
    async def scan() -> dict[str, Any]:
        event = None
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:") and event == wanted:
                return json.loads(line.partition(":")[2])
        raise AssertionError(f"stream ended before an {wanted!r} event")
    return await asyncio.wait_for(scan(), timeout)


async def start_slow_post(port: int, match_id: str, body: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A POST whose headers and half its body are sent; the handler is waiting for the rest."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /api/matches/{match_id}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    writer.write(head + body[: len(body) // 2])
    await writer.drain()
    return reader, writer


async def test_sigterm_finishes_ingest_and_sends_clients_to_reconnect(server_process: ServerProcess) -> None:
    """WebSockets get 1012, SSE gets `restart`, the half-sent POST is answered 201, exit well under 30 s."""
    server = server_process
    server.start(env={"SCOREBOARD_LOG_FORMAT": "json"})
    url = server.url
    async with aiohttp.ClientSession() as http:
        created = await http.post(f"{url}/api/matches", json={"id": "m1", "home": "A", "away": "B"}, headers=AUTH)
        assert created.status == 201
        sockets = [await http.ws_connect(f"{url}/ws?matches=m1") for _ in range(3)]
        for ws in sockets:
            for _ in range(2):  # snapshot, subscribed
                await asyncio.wait_for(ws.receive_json(), 5)
        sse = await http.get(f"{url}/sse?matches=m1")
        await read_sse_event(sse, "snapshot")
        # Secrets sent before the restart must not reach the log.
        await http.get(f"{url}/api/matches/m1?token=viewer-token-secret")
        batch = json.dumps({"events": [{"type": "period_start"}] + [
            {"type": "goal", "team": "home", "player": "P" * 100} for _ in range(40)
        ]}).encode()
        reader, writer = await start_slow_post(server.port, "m1", batch)
        await asyncio.sleep(0.3)

        assert server.process is not None
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)

        for ws in sockets:
            message = await asyncio.wait_for(ws.receive(), 5)
            # The close frame's code is what a browser reports (aiohttp's own close_code can read
            # 1006 when the server drops the socket before the client's echo is written).
            assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1012, message
        restart = await read_sse_event(sse, "restart")
        assert restart["type"] == "restart" and restart["code"] == 1012
        sse.close()

        # Nothing new is accepted while the in-flight request finishes.
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", server.port)

        writer.write(batch[len(batch) // 2:])
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 201"), answer[:300]
        body = json.loads(rest.partition(b"\r\n\r\n")[2])
        assert body["seq"] == 41 and body["score"] == {"home": 40, "away": 0}

    code = await asyncio.to_thread(server.process.wait, 30)
    took = time.monotonic() - signalled
    assert code == 0
    assert took < 15, f"exit took {took:.1f}s after SIGTERM"

    # The events are durable: a new process serves them.
    server.start()
    async with aiohttp.ClientSession() as http:
        match = await (await http.get(f"{url}/api/matches/m1")).json()
    server.stop()
    assert match["seq"] == 41 and match["score"]["home"] == 40

    assert server.log_path is not None
    log = server.log_path.read_text()
    assert "viewer-token-secret" not in log and KEY not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "scoreboard.access"]
    assert any(line["path"] == "/api/matches/m1/events" and line["status"] == 201 for line in access)
    assert all("request_id" in line and "duration_ms" in line for line in access)
    live = [line for line in lines if line["logger"] == "scoreboard.live"]
    assert [line["transport"] for line in live if "closed" in line["message"]].count("ws") == 3


async def test_sigint_tells_clients_going_away(server_process: ServerProcess) -> None:
    """SIGINT (a developer's Ctrl-C) closes WebSockets with 1001, not 1012."""
    server = server_process
    server.start()
    async with aiohttp.ClientSession() as http:
        await http.post(f"{server.url}/api/matches", json={"id": "m1", "home": "A", "away": "B"}, headers=AUTH)
        ws = await http.ws_connect(f"{server.url}/ws?matches=m1")
        for _ in range(2):  # snapshot, subscribed
            await asyncio.wait_for(ws.receive_json(), 5)
        assert server.process is not None
        server.process.send_signal(signal.SIGINT)
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1001, message
    assert await asyncio.to_thread(server.process.wait, 30) == 0
