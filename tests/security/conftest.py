"""Fixtures for the security tests: a real app with a known token secret, tokens, SSE reading."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import jwt
import pytest

from scoreboard.settings import Settings
from scoreboard.web.app import create_app
from scoreboard.web.security.tokens import ALGORITHM, AUDIENCE
from support import AUTH, ServiceTestServer

SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
OTHER_SECRET = "some-other-secret-0123456789-abcdefghijklmnopqrst"
PRIVATE = "youth-final"
PUBLIC = "arg-fra"

MakeClient = Callable[..., Awaitable[Any]]


@pytest.fixture
def make_client(aiohttp_client: Any, settings: Settings) -> MakeClient:
    """A real test server for the shared settings plus the token secret and any overrides."""

    made = 0

    async def make(**overrides: Any) -> Any:
        nonlocal made
        made += 1
        if made > 1 and "db" not in overrides:  # one store per file: each further app its own
            overrides["db"] = settings.db.replace(".db", f"-{made}.db")
        # Served as `scoreboard serve` serves, each request on a fresh connection as a
        # browser opens a WebSocket: the checks meet the front door (web/live/front.py) first.
        return await aiohttp_client(ServiceTestServer(create_app(replace(settings, secret=SECRET, **overrides))),
                                    connector=aiohttp.TCPConnector(force_close=True))

    return make


@pytest.fixture
async def secure_client(make_client: MakeClient) -> Any:
    """A server holding one public and one private match."""
    client = await make_client()
    for match_id, private in ((PUBLIC, False), (PRIVATE, True)):
        body = {"id": match_id, "home": f"{match_id}-home", "away": f"{match_id}-away", "private": private}
        response = await client.post("/api/matches", json=body, headers=AUTH)
        assert response.status == 201, await response.text()
    return client


async def issue_token(client: Any, match_id: str = PRIVATE, ttl: int = 600, headers: Any = None) -> str:
    response = await client.post(f"/api/matches/{match_id}/tokens", json={"ttl": ttl}, headers=headers or AUTH)
    assert response.status == 201, await response.text()
    return (await response.json())["token"]


def make_token(matches: list[str], *, secret: str = SECRET, exp_in: float = 600, **claims: Any) -> str:
    """A token built by hand, for expired, forged and malformed cases."""
    body = {"matches": matches, "aud": AUDIENCE, "exp": int(time.time() + exp_in), **claims}
    return jwt.encode(body, secret, algorithm=ALGORITHM)
