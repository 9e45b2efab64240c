"""SIGTERM while scorekeepers hold keep-alive connections (issue 10, item 6): a POST sent on one
just before or during the drain is answered (201, with `Connection: close`) and stored, even
with WebSocket fans to close at the same time; only then does the process exit."""
from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp
import pytest

from support import AUTH, KEY, ServerProcess, free_port

pytestmark = pytest.mark.timeout(90)
SCOREKEEPERS = 32


class KeepAliveScorekeeper:
    """One raw HTTP/1.1 connection reused for every POST, as a scorekeeper's client keeps it."""

    def __init__(self, port: int, match_id: str) -> None:
        self.port = port
        self.match_id = match_id
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def send(self, event_id: str) -> None:
        assert self.writer is not None
        body = json.dumps({"type": "notification", "title": "t", "id": event_id}).encode()
        self.writer.write(
            f"POST /api/matches/{self.match_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )

    async def answer(self) -> tuple[int, str]:
        """The status and Connection header of the next answer (status 0: none, the connection
        was reset or closed before it)."""
        assert self.reader is not None
        try:
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 15)
        except (ConnectionError, asyncio.IncompleteReadError):
            return 0, ""
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        await self.reader.readexactly(int(headers.get("content-length", "0")))
        return int(lines[0].split()[1]), headers.get("connection", "")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def read_until_closed(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    async for _ in ws:
        pass
    return ws.close_code


@pytest.mark.parametrize("when", ["just_before", "during"])
async def test_sigterm_answers_and_stores_what_keepalive_scorekeepers_just_sent(tmp_path: Path, when: str) -> None:
    """32 keep-alive scorekeepers each send a complete POST just before (or just after) SIGTERM,
    while WebSocket fans are being closed: all 32 get a 201 with `Connection: close` and all
    32 events are in the log after a restart."""
    server = ServerProcess(port=free_port(), db=tmp_path / "drain.db")
    server.start("--ingest-rate", "0")
    keepers = [KeepAliveScorekeeper(server.port, "m") for _ in range(SCOREKEEPERS)]
    try:
        async with aiohttp.ClientSession(server.url) as http:
            assert (await http.post("/api/matches", json={"id": "m", "home": "A", "away": "B"}, headers=AUTH)).status == 201
            fans = [await http.ws_connect("/ws?matches=m") for _ in range(20)]
            # Fans that read (and so answer the server's close at once, as browsers do): the
            # WebSocket part of the drain is over in milliseconds.
            reading = [asyncio.ensure_future(read_until_closed(ws)) for ws in fans]
            for keeper in keepers:
                await keeper.open()
                keeper.send(f"warm-{id(keeper)}")
                assert (await keeper.answer())[0] == 201  # the connection is now an idle keep-alive one
            assert server.process is not None
            if when == "just_before":
                for index, keeper in enumerate(keepers):
                    keeper.send(f"last-{index}")
                server.process.send_signal(signal.SIGTERM)
            else:
                server.process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.3)  # the fans are closed by now, the scorekeepers idle
                for index, keeper in enumerate(keepers):
                    keeper.send(f"last-{index}")
            answers = await asyncio.gather(*(keeper.answer() for keeper in keepers))
            assert set(await asyncio.gather(*reading)) == {1012}
        assert [status for status, _ in answers] == [201] * SCOREKEEPERS, answers
        for keeper, (_, connection) in zip(keepers, answers):
            if connection.lower() != "close":
                # Answered before the signal reached the server (a loaded machine): the drain
                # must then still close that idle keep-alive connection rather than leave it.
                assert when == "just_before", answers
                assert keeper.reader is not None
                assert await asyncio.wait_for(keeper.reader.read(), 15) == b"", answers
        assert await asyncio.to_thread(server.process.wait, 30) == 0
    finally:
        for keeper in keepers:
            keeper.close()
    server.start()
    try:
        async with aiohttp.ClientSession(server.url) as http:
            events = (await (await http.get("/api/matches/m/events")).json())["events"]
        stored = {event["id"] for event in events}
        assert {f"last-{index}" for index in range(SCOREKEEPERS)} <= stored
    finally:
        server.stop()
