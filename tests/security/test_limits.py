"""Every limit has a setting, a public default and a test: body, message, subscriptions,
connections per address, ingest rate per key, auth and idle timeouts."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from conftest import PRIVATE
from scoreboard.settings import Settings, SettingsError, load_settings
from support import AUTH, create_match, receive_json


def test_public_deployment_defaults():
    """The defaults README lists: limits on, connection cap off, forwarded headers untrusted."""
    defaults = Settings()
    assert defaults.max_body_bytes == 65536
    assert defaults.max_ws_message_bytes == 16384
    assert defaults.max_subscriptions == 100
    assert defaults.max_connections_per_client == 0 and defaults.trust_forwarded is False
    assert (defaults.ingest_rate, defaults.ingest_burst) == (20.0, 100)
    assert defaults.ws_auth_timeout == 10.0 and defaults.ws_idle_timeout == 120.0
    assert defaults.token_max_ttl == 7 * 24 * 3600


def test_limit_settings_are_validated_and_read_from_the_environment(tmp_path):
    """Bad values name the setting; SCOREBOARD_<NAME> sets each limit; the secret is never shown."""
    with pytest.raises(SettingsError, match="secret"):
        Settings(secret="too-short")
    for bad in ({"max_subscriptions": 0}, {"ingest_rate": -1}, {"ws_auth_timeout": 0},
                {"max_connections_per_client": -1}, {"ingest_burst": 0}):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            Settings(**bad)
    env = {"SCOREBOARD_SECRET": "x" * 40, "SCOREBOARD_MAX_CONNECTIONS_PER_CLIENT": "5",
           "SCOREBOARD_TRUST_FORWARDED": "true", "SCOREBOARD_INGEST_RATE": "2.5"}
    loaded = load_settings(env=env, config_file=None)
    assert loaded.max_connections_per_client == 5 and loaded.trust_forwarded and loaded.ingest_rate == 2.5
    assert "x" * 40 not in str(loaded.public_dict())


async def test_request_body_over_max_is_413_json(make_client):
    """A body larger than max_body_bytes: 413 `too_large` in the error shape."""
    client = await make_client(max_body_bytes=1024)
    await create_match(client)
    body = [{"type": "notification", "title": "x" * 200}] * 10
    response = await client.post("/api/matches/arg-fra/events", json=body, headers=AUTH)
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "too_large"


async def test_ws_message_over_max_closes_1009(make_client):
    """A WebSocket message larger than max_ws_message_bytes closes that connection with 1009."""
    client = await make_client(max_ws_message_bytes=256)
    async with client.ws_connect("/ws") as ws, client.ws_connect("/ws") as bystander:
        await ws.send_str('{"op": "ping", "pad": "' + "x" * 1000 + '"}')
        message = await asyncio.wait_for(ws.receive(), 3)
        assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1009
        await bystander.send_json({"op": "ping"})
        assert (await receive_json(bystander)) == {"type": "pong"}


async def test_max_subscriptions_per_connection(make_client):
    """Past max_subscriptions: a WS error (connection stays), a 400 on SSE."""
    client = await make_client(max_subscriptions=2)
    for match_id in ("a1", "a2", "a3"):
        await create_match(client, match_id)
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"op": "subscribe", "matches": ["a1", "a2", "a3"]})
        assert (await receive_json(ws))["code"] == "too_many_subscriptions"
        await ws.send_json({"op": "subscribe", "matches": ["a1", "a2"]})
        assert (await receive_json(ws))["type"] == "snapshot"
    response = await client.get("/sse?matches=a1,a2,a3")
    assert response.status == 400


async def test_connections_per_client_address(make_client):
    """The (N+1)th live connection from one address is 429 before the upgrade; closing frees a slot."""
    client = await make_client(max_connections_per_client=2)
    await create_match(client)
    first = await client.ws_connect("/ws")
    stream = await client.get("/sse?matches=arg-fra")  # SSE counts too
    assert stream.status == 200
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws")
    assert refused.value.status == 429
    over = await client.get("/sse?matches=arg-fra")
    assert over.status == 429
    assert (await over.json())["error"]["code"] == "too_many_connections"
    assert over.headers["Retry-After"]
    await first.close()
    stream.close()
    for _ in range(50):  # the server notices the closes on its own schedule
        await asyncio.sleep(0.02)
        response = await client.get("/sse?matches=arg-fra")
        if response.status == 200:
            response.close()
            break
    else:
        pytest.fail("slots were not given back")


async def test_forwarded_address_is_used_only_when_trusted(make_client):
    """Untrusted: X-Forwarded-For is ignored (no bypass by spoofing). Trusted: its last entry counts."""
    untrusted = await make_client(max_connections_per_client=1)
    await create_match(untrusted)
    held = await untrusted.ws_connect("/ws", headers={"X-Forwarded-For": "10.0.0.1"})
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await untrusted.ws_connect("/ws", headers={"X-Forwarded-For": "10.0.0.2"})
    await held.close()

    trusted = await make_client(max_connections_per_client=1, trust_forwarded=True)
    one = await trusted.ws_connect("/ws", headers={"X-Forwarded-For": "10.0.0.1"})
    two = await trusted.ws_connect("/ws", headers={"X-Forwarded-For": "10.0.0.2"})
    # A client that prepends a fake address is still counted by the router's (last) entry.
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await trusted.ws_connect("/ws", headers={"X-Forwarded-For": "6.6.6.6, 10.0.0.1"})
    await one.close()
    await two.close()


async def test_ingest_rate_limit_per_key(make_client):
    """Past the burst, 429 `rate_limited` with Retry-After; other keys are unaffected; it refills."""
    client = await make_client(ingest_rate=5.0, ingest_burst=3, api_keys=("test-key", "other-key"))
    await create_match(client)
    url = "/api/matches/arg-fra/events"
    goal = {"type": "notification", "title": "x"}
    assert (await client.post(url, json=[goal, goal], headers=AUTH)).status == 201
    assert (await client.post(url, json=goal, headers=AUTH)).status == 201
    limited = await client.post(url, json=goal, headers=AUTH)
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) >= 1
    error = (await limited.json())["error"]
    assert error["code"] == "rate_limited" and "request_id" in error
    other = await client.post(url, json=goal, headers={"Authorization": "Bearer other-key"})
    assert other.status == 201
    await asyncio.sleep(0.25)  # 5 events/s: one token back
    assert (await client.post(url, json=goal, headers=AUTH)).status == 201


async def test_ingest_rate_zero_is_off(make_client):
    """ingest_rate = 0 turns the limit off (benchmarks, trusted replays)."""
    client = await make_client(ingest_rate=0, ingest_burst=1)
    await create_match(client)
    for _ in range(5):
        response = await client.post("/api/matches/arg-fra/events",
                                     json=[{"type": "notification", "title": "x"}] * 3, headers=AUTH)
        assert response.status == 201


async def test_ws_must_auth_within_timeout(make_client):
    """`?matches=private` without a token and no auth message: error `auth_timeout`, close 1008."""
    client = await make_client(ws_auth_timeout=0.3)
    await create_match(client, PRIVATE, private=True)
    async with client.ws_connect(f"/ws?matches={PRIVATE}") as ws:
        error = await receive_json(ws, timeout=3)
        assert error["code"] == "auth_timeout"
        closing = await asyncio.wait_for(ws.receive(), 3)
        assert closing.data == 1008


async def test_ws_first_message_must_be_auth_when_auth_is_needed(make_client):
    """Anything but an auth op first, on a connection that must authenticate: close 1008."""
    client = await make_client()
    await create_match(client, PRIVATE, private=True)
    async with client.ws_connect(f"/ws?matches={PRIVATE}") as ws:
        await ws.send_json({"op": "subscribe", "matches": [PRIVATE]})
        assert (await receive_json(ws))["code"] == "unauthorized"
        closing = await asyncio.wait_for(ws.receive(), 3)
        assert closing.data == 1008


async def test_ws_idle_without_subscription_is_closed(make_client):
    """A WebSocket that follows nothing for ws_idle_timeout is closed (1008); a subscribed one is not."""
    client = await make_client(ws_idle_timeout=0.3)
    await create_match(client)
    async with client.ws_connect("/ws") as idle, client.ws_connect("/ws?matches=arg-fra") as busy:
        assert (await receive_json(idle, timeout=3))["code"] == "idle"
        assert (await asyncio.wait_for(idle.receive(), 3)).data == 1008
        assert (await receive_json(busy))["type"] == "snapshot"
        assert (await receive_json(busy))["type"] == "subscribed"
        await asyncio.sleep(0.5)
        await busy.send_json({"op": "ping"})
        assert (await receive_json(busy)) == {"type": "pong"}
        # Unsubscribing from everything starts the clock again.
        await busy.send_json({"op": "unsubscribe", "matches": ["arg-fra"]})
        assert (await receive_json(busy))["type"] == "unsubscribed"
        assert (await receive_json(busy, timeout=3))["code"] == "idle"


async def test_ws_idle_timeout_zero_is_off(make_client):
    """ws_idle_timeout = 0: a connection without subscriptions stays open."""
    client = await make_client(ws_idle_timeout=0)
    async with client.ws_connect("/ws") as ws:
        await asyncio.sleep(0.4)
        await ws.send_json({"op": "ping"})
        assert (await receive_json(ws)) == {"type": "pong"}
