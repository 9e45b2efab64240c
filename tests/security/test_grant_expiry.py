"""A viewer token's grant ends with the token on an open WebSocket, whatever the connection
followed when it expired (issue 10, item 1)."""
from __future__ import annotations

import asyncio
import time

from conftest import PRIVATE, PUBLIC, make_token
from support import AUTH, assert_nothing_arrives, post_events, receive_json


async def wait_until_expired(exp: int) -> None:
    """Sleep past a token's `exp` (whole seconds: PyJWT compares with the clock's seconds)."""
    await asyncio.sleep(max(0.0, exp + 1.1 - time.time()))


async def test_ws_expired_grant_opens_nothing_later(secure_client):
    """A token that expired while only a public match was followed: a later subscribe to the
    private match is refused (token_expired), no snapshot or event of it arrives, and the
    connection keeps serving the public match."""
    exp = int(time.time()) + 2
    token = make_token([PRIVATE], exp_in=exp - time.time())
    async with secure_client.ws_connect(f"/ws?matches={PUBLIC}&token={token}") as ws:
        for expected in ("authenticated", "snapshot", "subscribed"):
            assert (await receive_json(ws))["type"] == expected
        await wait_until_expired(exp)
        # HTTP already refuses the token.
        assert (await secure_client.get(f"/api/matches/{PRIVATE}?token={token}")).status == 401
        await ws.send_json({"op": "subscribe", "matches": [PRIVATE]})
        refusal = await receive_json(ws)
        assert refusal["type"] == "error" and refusal["code"] == "token_expired", refusal
        assert refusal["match_id"] == PRIVATE
        subscribed = await receive_json(ws)
        assert subscribed["type"] == "subscribed" and subscribed["matches"] == [PUBLIC]
        await post_events(secure_client, PRIVATE, {"type": "period_start"})
        await assert_nothing_arrives(ws)
        body = await post_events(secure_client, PUBLIC, {"type": "period_start"})
        live = await receive_json(ws)
        assert live["match_id"] == PUBLIC and live["seq"] == body["seq"]


async def test_ws_wildcard_after_expiry_carries_no_private_frames(secure_client):
    """A `*` subscription made after the token expired gets public events only."""
    exp = int(time.time()) + 2
    token = make_token([PRIVATE], exp_in=exp - time.time())
    async with secure_client.ws_connect(f"/ws?matches={PUBLIC}&token={token}") as ws:
        for expected in ("authenticated", "snapshot", "subscribed"):
            assert (await receive_json(ws))["type"] == expected
        await wait_until_expired(exp)
        await ws.send_json({"op": "subscribe", "matches": ["*"]})
        assert (await receive_json(ws))["type"] == "subscribed"
        await post_events(secure_client, PRIVATE, {"type": "period_start"})
        await post_events(secure_client, PUBLIC, {"type": "period_start"})
        first = await receive_json(ws)
        assert first["match_id"] == PUBLIC, first
        await assert_nothing_arrives(ws)


async def test_ws_new_token_after_expiry_opens_the_match_again(secure_client):
    """After the first grant lapsed, an auth op with a fresh token opens the private match."""
    exp = int(time.time()) + 2
    token = make_token([PRIVATE], exp_in=exp - time.time())
    async with secure_client.ws_connect(f"/ws?matches={PUBLIC}&token={token}") as ws:
        for expected in ("authenticated", "snapshot", "subscribed"):
            assert (await receive_json(ws))["type"] == expected
        await wait_until_expired(exp)
        await ws.send_json({"op": "auth", "token": make_token([PRIVATE], exp_in=600)})
        assert (await receive_json(ws)) == {"type": "authenticated", "matches": [PRIVATE]}
        await ws.send_json({"op": "subscribe", "matches": [PRIVATE]})
        snapshot = await receive_json(ws)
        assert snapshot["type"] == "snapshot" and snapshot["match"]["id"] == PRIVATE


async def test_ws_two_tokens_each_grant_until_their_own_expiry(secure_client):
    """A short token for one private match does not cut short a long token for another: when the
    short one expires, the connection following the other match stays open and served."""
    body = {"id": "other-private", "home": "A", "away": "B", "private": True}
    assert (await secure_client.post("/api/matches", json=body, headers=AUTH)).status == 201
    exp = int(time.time()) + 2
    short_token = make_token([PRIVATE], exp_in=exp - time.time())
    async with secure_client.ws_connect(f"/ws?token={short_token}") as ws:
        assert (await receive_json(ws))["type"] == "authenticated"
        await ws.send_json({"op": "auth", "token": make_token(["other-private"], exp_in=600)})
        assert (await receive_json(ws))["matches"] == sorted([PRIVATE, "other-private"])
        await ws.send_json({"op": "subscribe", "matches": ["other-private"]})
        for expected in ("snapshot", "subscribed"):
            assert (await receive_json(ws))["type"] == expected
        await wait_until_expired(exp)
        body = await post_events(secure_client, "other-private", {"type": "period_start"})
        live = await receive_json(ws)
        assert live["type"] == "event" and live["seq"] == body["seq"], live
        await ws.send_json({"op": "subscribe", "matches": [PRIVATE]})
        assert (await receive_json(ws))["code"] == "token_expired"
        subscribed = await receive_json(ws)
        assert subscribed["type"] == "subscribed" and subscribed["matches"] == ["other-private"]
