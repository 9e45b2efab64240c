"""Group commit on the embedded store: an answer only after the commit, every 2xx still there
after kill -9, and a failed commit answered 503 to its own requests only."""
from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp

from scoreboard.web.app import create_app
from support import AUTH, ServerProcess, create_match, post_events

KEEPERS = 16


def stored_events(db: Path, match_id: str) -> list[tuple[int, str]]:
    """(seq, id) of a match's events as the file holds them, read with a connection of our own."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT seq, id FROM events WHERE match_id = ? ORDER BY seq", (match_id,)).fetchall()


async def test_every_acknowledged_event_survives_kill_9(server_process: ServerProcess) -> None:
    """Sixteen scorekeepers post as fast as they can; after SIGKILL and a restart, every event answered
    2xx is in the log at the seq it was answered with, and the seqs have no gap."""
    server = server_process
    server.start(env={"SCOREBOARD_INGEST_RATE": "0"})
    acknowledged: dict[str, list[tuple[int, str]]] = {f"k{n}": [] for n in range(KEEPERS)}
    async with aiohttp.ClientSession(server.url, headers=AUTH) as session:
        for match_id in acknowledged:
            async with session.post("/api/matches", json={"id": match_id, "home": "A", "away": "B"}) as answer:
                assert answer.status == 201
            async with session.post(f"/api/matches/{match_id}/events", json={"type": "period_start"}) as answer:
                assert answer.status == 201

        async def keeper(match_id: str) -> None:
            for n in range(100_000):
                event = {"id": f"{match_id}-{n}", "type": "goal", "team": "home" if n % 2 else "away"}
                try:
                    async with session.post(f"/api/matches/{match_id}/events", json=event) as answer:
                        if answer.status == 201:
                            acknowledged[match_id].append(((await answer.json())["seq"], event["id"]))
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    return  # the server is gone

        keepers = [asyncio.ensure_future(keeper(match_id)) for match_id in acknowledged]
        await asyncio.sleep(1.5)
        server.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        await asyncio.wait_for(asyncio.gather(*keepers), 15)
    assert await asyncio.to_thread(server.process.wait, 10) == -signal.SIGKILL  # type: ignore[union-attr]
    assert sum(map(len, acknowledged.values())) > 100  # the kill landed mid-stream

    await asyncio.to_thread(server.start)
    async with aiohttp.ClientSession(server.url, headers=AUTH) as session:
        for match_id, answered in acknowledged.items():
            async with session.get(f"/api/matches/{match_id}/events") as answer:
                log = [(event["seq"], event["id"]) for event in (await answer.json())["events"]]
            assert [seq for seq, _ in log] == list(range(1, len(log) + 1))
            assert set(answered) <= set(log), f"{match_id}: acknowledged events lost"
            # A retry of the last acknowledged event is answered as a retry, with its seq.
            seq, event_id = answered[-1]
            retry = {"id": event_id, "type": "goal", "team": "home" if int(event_id.rsplit("-", 1)[1]) % 2 else "away"}
            async with session.post(f"/api/matches/{match_id}/events", json=retry) as answer:
                assert answer.status == 200 and (await answer.json())["seq"] == seq


async def test_no_answer_before_the_commit(aiohttp_client: Any, settings: Any) -> None:
    """While another connection holds the file's write lock, posts wait unanswered; once it lets go,
    each is answered, and each answered event is already in the file."""
    client = await aiohttp_client(create_app(settings))
    for n in range(4):
        await create_match(client, f"m{n}")
    blocker = sqlite3.connect(settings.db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # what a commit of the store's needs, held elsewhere
    try:
        posts = [asyncio.ensure_future(post_events(client, f"m{n}", {"type": "period_start"})) for n in range(4)]
        done, _ = await asyncio.wait(posts, timeout=0.5)
        assert not done, "answered while the commit could not have happened"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    answers = await asyncio.wait_for(asyncio.gather(*posts), 10)
    for n, answer in enumerate(answers):
        assert (answer["seq"], answer["events"][0]["id"]) in stored_events(Path(settings.db), f"m{n}")


async def test_a_failed_commit_fails_only_its_own_requests(aiohttp_client: Any, settings: Any) -> None:
    """An event the file refuses (a trigger aborts it) is answered 503 with a JSON error, never 500;
    the posts sharing its group commit are stored; its match takes events again, with no gap."""
    client = await aiohttp_client(create_app(settings))
    for match_id in ("poisoned", "a", "b", "c"):
        await create_match(client, match_id)
    with sqlite3.connect(settings.db) as conn:
        conn.execute("CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.id LIKE 'poison%' "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")

    async def post(match_id: str, body: dict[str, Any]) -> aiohttp.ClientResponse:
        return await client.post(f"/api/matches/{match_id}/events", headers=AUTH, json=body)

    # Posted together, so that the bad one shares a group with good ones.
    answers = await asyncio.gather(
        post("poisoned", {"type": "period_start", "id": "poison-1"}),
        *(post(match_id, {"type": "period_start", "id": f"{match_id}-1"}) for match_id in ("a", "b", "c")),
    )
    refused, *accepted = answers
    assert refused.status == 503
    assert refused.headers["Retry-After"] == "1"
    assert (await refused.json())["error"]["code"] == "store_unavailable"
    for match_id, answer in zip(("a", "b", "c"), accepted):
        assert answer.status == 201
        assert stored_events(Path(settings.db), match_id) == [(1, f"{match_id}-1")]

    assert stored_events(Path(settings.db), "poisoned") == []
    with sqlite3.connect(settings.db) as conn:
        conn.execute("DROP TRIGGER poison")
    answer = await post_events(client, "poisoned", {"type": "period_start", "id": "fine-1"})
    assert answer["seq"] == 1
    match = await (await client.get("/api/matches/poisoned")).json()
    assert match["seq"] == 1 and match["status"] == "live"
