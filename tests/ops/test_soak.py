"""A season of matches on one process (issue 10, item 9): 5,000 matches created, played and
finished, each watched and read along the way, and the server's memory stays flat after the
first thousand, because what it keeps per match in memory is let go once the match is idle
and nobody follows it."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from support import AUTH, ServerProcess, free_port

MATCHES = 5000
CHECKPOINT = 1000
WORKERS = 8  # concurrent scorekeeper-and-fan loops
# Growth allowed from the 1,000th match to the 5,000th. Kept per match, the state of 4,000
# more matches (their logs, frame histories, snapshots) is tens of megabytes.
FLAT_BYTES = 6 * 1024 * 1024

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def play(http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, index: int) -> None:
    """One match from creation to full time: a fan follows it while it is played."""
    match_id = f"season-{index}"
    body = {"id": match_id, "home": f"Home {index}", "away": f"Away {index}"}
    async with http.post("/api/matches", json=body, headers=AUTH) as answer:
        assert answer.status == 201, await answer.text()
    await ws.send_json({"op": "subscribe", "matches": [match_id]})
    assert json.loads((await ws.receive(timeout=10)).data)["type"] == "snapshot"
    assert json.loads((await ws.receive(timeout=10)).data)["type"] == "subscribed"
    events = [{"type": "period_start"},
              *({"type": "goal", "team": "home" if n % 2 else "away", "player": f"Player {n} of {index}",
                 "minute": n} for n in range(6)),
              {"type": "notification", "title": "Full time", "text": "A long match report. " * 10},
              {"type": "period_end", "final": True}]
    async with http.post(f"/api/matches/{match_id}/events", json=events, headers=AUTH) as answer:
        assert answer.status == 201, await answer.text()
    seen = 0
    while seen < len(events):
        message = json.loads((await ws.receive(timeout=10)).data)
        if message["type"] == "event" and message["match_id"] == match_id:
            seen += 1
    await ws.send_json({"op": "unsubscribe", "matches": [match_id]})
    while (message := json.loads((await ws.receive(timeout=10)).data))["type"] == "watching":
        pass  # the fan count of the match it followed (every watching_interval) may come first
    assert message["type"] == "unsubscribed"
    async with http.get(f"/api/matches/{match_id}/events") as answer:
        assert answer.status == 200


async def test_memory_stays_flat_over_a_season_of_matches(tmp_path: Path) -> None:
    """RSS after 5,000 played matches is within a few MB of RSS after the first 1,000."""
    server = ServerProcess(port=free_port(), db=tmp_path / "season.db")
    server.start("--ingest-rate", "0", "--match-idle-seconds", "1")
    assert server.process is not None
    try:
        async with aiohttp.ClientSession(server.url) as http:
            sockets = [await http.ws_connect("/ws") for _ in range(WORKERS)]
            counter = iter(range(MATCHES))
            measured: dict[int, int] = {}
            done = 0

            async def loop(ws: aiohttp.ClientWebSocketResponse) -> None:
                nonlocal done
                for index in counter:
                    await play(http, ws, index)
                    done += 1

            async def watch() -> None:
                for checkpoint in range(CHECKPOINT, MATCHES + 1, CHECKPOINT):
                    while done < checkpoint:
                        await asyncio.sleep(0.05)
                    await asyncio.sleep(1.5)  # past the idle time: what can be let go is
                    measured[checkpoint] = rss_bytes(server.process.pid)  # type: ignore[union-attr]

            await asyncio.gather(watch(), *(loop(ws) for ws in sockets))
            for ws in sockets:
                await ws.close()
    finally:
        server.stop()
    growth = measured[MATCHES] - measured[CHECKPOINT]
    print("RSS by matches played:", {k: f"{v / 2**20:.1f} MiB" for k, v in measured.items()})
    report = {k: f"{v / 2**20:.1f} MiB" for k, v in measured.items()}
    assert growth < FLAT_BYTES, f"RSS grew {growth / 2**20:.1f} MiB from match {CHECKPOINT} to {MATCHES}: {report}"
