"""Durability across crashes, with the real server process (and its sender process):
an event acknowledged with 2xx is pushed and delivered even if the server dies right after."""
from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from push_service import PushService
from support import AUTH, ServerProcess
from webhook_receiver import WebhookReceiver

ENV = {"SCOREBOARD_OUTBOUND_ALLOW_PRIVATE": "true", "SCOREBOARD_INGEST_RATE": "0",
       "SCOREBOARD_VAPID_SUBJECT": "mailto:ops@scoreboard.test"}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def call(http: aiohttp.ClientSession, server: ServerProcess, method: str, path: str,
               body: Any = None, status: int = 201, headers: dict[str, str] | None = None) -> Any:
    async with http.request(method, server.url + path, json=body, headers=headers or AUTH) as response:
        assert response.status == status, await response.text()
        return await response.json()


async def stop_in_thread(server: ServerProcess, sig: int) -> None:
    await asyncio.to_thread(server.stop, sig)


async def start_in_thread(server: ServerProcess) -> None:
    await asyncio.to_thread(server.start, env=ENV)


async def test_goal_acknowledged_then_server_killed_is_pushed_after_restart(
    server_process: ServerProcess, http: aiohttp.ClientSession,
) -> None:
    """The push service is down when the goal is posted; the server is SIGKILLed while it
    waits to retry; after a restart, with the push service up, the goal arrives."""
    server = server_process
    push = PushService()  # its port is chosen, nothing listens yet: connections are refused
    browser = push.browser("fan")
    await start_in_thread(server)
    try:
        await call(http, server, "POST", "/api/matches", {"id": "arg-fra", "home": "Argentina", "away": "France"})
        await call(http, server, "POST", "/api/push/subscriptions",
                   {"subscription": browser.subscription(), "matches": ["arg-fra"], "events": ["goal"]}, headers={})
        await call(http, server, "POST", "/api/matches/arg-fra/events",
                   [{"type": "period_start"}, {"type": "goal", "team": "home", "player": "Messi", "minute": 23}])
        await asyncio.sleep(0.5)  # the first attempt has failed; the retry waits ~1 s
        await stop_in_thread(server, signal.SIGKILL)
        await push.start()
        await start_in_thread(server)
        push.server_key = (await call(http, server, "GET", "/api/push/key", status=200))["public_key"]
        await push.wait_for(lambda: len(push.for_browser("fan")) >= 1, timeout=15)
        assert push.for_browser("fan")[0].message["title"] == "GOAL! Argentina 1–0 France"
        assert push.rejected == []
    finally:
        await push.stop()
        await stop_in_thread(server, signal.SIGTERM)


async def test_webhooks_killed_mid_delivery_deliver_every_event_in_order_after_restart(
    server_process: ServerProcess, http: aiohttp.ClientSession,
) -> None:
    """A slow receiver, a SIGKILL while deliveries are under way, a restart: every event of
    both matches arrives at least once, each match's first copies in seq order."""
    server = server_process
    receiver = await WebhookReceiver().start()
    receiver.delay = 0.05
    await start_in_thread(server)
    try:
        for match_id in ("arg-fra", "bra-cro"):
            await call(http, server, "POST", "/api/matches", {"id": match_id, "home": "H", "away": "A"})
        made = await call(http, server, "POST", "/api/webhooks", {"url": receiver.url})
        receiver.secret = made["secret"]
        for n in range(10):
            for match_id in ("arg-fra", "bra-cro"):
                events = [{"type": "period_start"}] if n == 0 else [{"type": "goal", "team": "home", "minute": n}]
                await call(http, server, "POST", f"/api/matches/{match_id}/events", events)
        await receiver.wait_for(lambda: len(receiver.received) >= 4, timeout=10)
        await stop_in_thread(server, signal.SIGKILL)
        delivered_before = len(receiver.received)
        assert delivered_before < 20  # the kill came mid-way
        await start_in_thread(server)
        await receiver.wait_for(lambda: all(set(receiver.seqs(m)) >= set(range(1, 11)) for m in ("arg-fra", "bra-cro")),
                                timeout=20)
        for match_id in ("arg-fra", "bra-cro"):
            seqs = receiver.seqs(match_id)
            first_copies = list(dict.fromkeys(seqs))
            assert first_copies == list(range(1, 11)), seqs
            assert seqs == sorted(seqs), seqs  # a re-sent delivery comes again before newer ones
        assert receiver.bad_signatures == 0
    finally:
        await receiver.stop()
        await stop_in_thread(server, signal.SIGTERM)
