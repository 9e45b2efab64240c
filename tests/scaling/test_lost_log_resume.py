"""A resume answered from memory (ScoreService) after Redis lost everything and the match was
made again: the fan is told of the new match (a snapshot), not served the old log's frames."""
from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from redis_server import RedisServer
from scoreboard.domain import EventDraft
from scoreboard.hub import Hub
from scoreboard.service import ScoreService
from scoreboard.store.redis import RedisStore


async def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_resume_after_the_log_was_lost_and_the_match_made_again_gets_the_new_match(
    redis_server: RedisServer, tmp_path: Path,
) -> None:
    service = ScoreService(RedisStore(redis_server.url, prefix=f"lost-{uuid.uuid4().hex[:8]}:", timeout=1.0), Hub())
    await service.start()
    try:
        await service.create_match({"id": "cup", "home": "Home", "away": "Away"})
        for draft in (EventDraft("period_start", {}), EventDraft("goal", {"team": "home"})):
            await service.ingest("cup", [draft])
        await wait_for(lambda: service.history.latest("cup") == 2)  # published through the stream
        old_epoch = (await service.catch_up("cup", None)).epoch
        assert [frame.seq for frame in (await service.catch_up("cup", 1, old_epoch)).frames] == [2]

        redis_server.kill()  # no persistence: everything is gone
        redis_server.start()
        for _ in range(100):  # the store reconnects
            try:
                await service.create_match({"id": "cup", "home": "Home", "away": "Away"})
                break
            except Exception:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("the match could not be made again")

        fan = await service.catch_up("cup", 2, old_epoch)  # a fan of the old match comes back
        assert fan.snapshot is not None and fan.epoch != old_epoch
        snapshot = json.loads(fan.snapshot)
        assert snapshot["match"]["seq"] == 0 and snapshot["events"] == [] and snapshot["epoch"] == fan.epoch
    finally:
        await service.stop()
