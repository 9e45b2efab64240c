"""Redis mode: a team name with a lone surrogate is refused (422), and one stored by an older
version no longer takes the front page down for everyone (issue 10, item 2)."""
from __future__ import annotations

import json

from redis.asyncio import Redis

from redis_server import RedisServer

from .conftest import InstanceFactory


async def test_lone_surrogate_team_names_are_refused_and_old_ones_served(
    redis_server: RedisServer, make_instance: InstanceFactory,
) -> None:
    """POST /api/matches with "\\ud800" is 422; a match stored with one before is still
    listed and rendered (U+FFFD) and its fans get their snapshot."""
    instance = await make_instance(redis_server.url)
    assert instance.session is not None
    async with instance.session.post(
        "/api/matches", data=b'{"id": "x", "home": "\\ud800", "away": "B"}',
        headers={"Authorization": "Bearer scaling-test-key", "Content-Type": "application/json"},
    ) as answer:
        assert answer.status == 422 and "home" in (await answer.json())["error"]["fields"]
    await instance.create_match("m")
    client = Redis.from_url(redis_server.url, decode_responses=True)
    key = f"{instance.settings.redis_prefix}match:m"
    stored = json.loads(await client.hget(key, "match"))  # type: ignore[misc]
    stored["home"] = "Home \ud800"
    await client.hset(key, "match", json.dumps(stored))  # type: ignore[misc]
    await client.aclose()
    for path in ("/", "/matches/m", "/embed/m", "/api/matches", "/api/matches/m"):
        async with instance.session.get(path) as page:
            assert page.status == 200, (path, await page.text())
    async with instance.session.get("/") as page:
        assert "Home \ufffd" in await page.text()
    fan = await instance.fan("m")
    await fan.assert_silent(0.2)
