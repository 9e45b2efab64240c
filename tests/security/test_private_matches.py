"""Private matches: viewer tokens for the API, pages, WebSocket and SSE; nothing leaks without one."""
from __future__ import annotations

import asyncio
import json

import aiohttp
import jwt

from conftest import OTHER_SECRET, PRIVATE, PUBLIC, SECRET, issue_token, make_token
from support import AUTH, assert_nothing_arrives, post_events, read_sse_event, receive_json

SCOPED = {"Authorization": "Bearer scoped-key"}


async def _ids(response) -> list[str]:
    assert response.status == 200, await response.text()
    return [m["id"] for m in (await response.json())["matches"]]


# -- API ---------------------------------------------------------------------------------------


async def test_private_match_is_not_listed_without_a_grant(secure_client):
    """GET /api/matches hides a private match from anonymous readers and from other matches' tokens."""
    assert await _ids(await secure_client.get("/api/matches")) == [PUBLIC]
    other = make_token(["someone-else"])
    assert await _ids(await secure_client.get(f"/api/matches?token={other}")) == [PUBLIC]
    assert await _ids(await secure_client.get("/api/matches", headers=SCOPED)) == [PUBLIC]


async def test_private_match_is_listed_for_its_token_and_for_a_key(secure_client):
    """A token granting the match, or an unscoped scorekeeper key, lists it."""
    token = await issue_token(secure_client)
    assert sorted(await _ids(await secure_client.get(f"/api/matches?token={token}"))) == sorted([PUBLIC, PRIVATE])
    assert sorted(await _ids(await secure_client.get("/api/matches", headers=AUTH))) == sorted([PUBLIC, PRIVATE])


async def test_private_match_reads_need_a_token(secure_client):
    """Match and events: 401 without a token, 200 with one, 403 with a token for another match."""
    await post_events(secure_client, PRIVATE, {"type": "period_start"})
    token = await issue_token(secure_client)
    other = make_token([PUBLIC])
    for path in (f"/api/matches/{PRIVATE}", f"/api/matches/{PRIVATE}/events"):
        anonymous = await secure_client.get(path)
        assert anonymous.status == 401
        body = await anonymous.json()
        assert body["error"]["code"] == "unauthorized"
        assert f"{PRIVATE}-home" not in json.dumps(body)
        granted = await secure_client.get(f"{path}?token={token}")
        assert granted.status == 200
        assert granted.headers["Cache-Control"] == "private, no-store"
        wrong = await secure_client.get(f"{path}?token={other}")
        assert wrong.status == 403
        assert (await wrong.json())["error"]["code"] == "forbidden"
        bearer = await secure_client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert bearer.status == 200


async def test_expired_forged_and_malformed_tokens_are_401(secure_client):
    """An expired token, another secret's token, a tampered one and alg=none are all refused."""
    good = await issue_token(secure_client)
    header, payload, signature = good.split(".")
    tampered_payload = jwt.utils.base64url_encode(
        json.dumps({**jwt.decode(good, options={"verify_signature": False}), "matches": [PRIVATE, PUBLIC]}).encode()
    ).decode()
    cases = {
        "expired": make_token([PRIVATE], exp_in=-5),
        "forged": make_token([PRIVATE], secret=OTHER_SECRET),
        "tampered": f"{header}.{tampered_payload}.{signature}",
        "alg-none": jwt.encode({"matches": [PRIVATE], "aud": "scoreboard-viewer", "exp": 2**31}, None, algorithm="none"),
        "no-audience": jwt.encode({"matches": [PRIVATE], "exp": 2**31}, SECRET, algorithm="HS256"),
        "matches-not-a-list": make_token("youth-final"),  # type: ignore[arg-type]
        "garbage": "not-a-token",
    }
    for name, token in cases.items():
        response = await secure_client.get(f"/api/matches/{PRIVATE}?token={token}")
        assert response.status == 401, name
        error = (await response.json())["error"]
        assert error["code"] == "unauthorized", name
        assert token not in error["message"]
    expired = await secure_client.get(f"/api/matches/{PRIVATE}?token={cases['expired']}")
    assert "expired" in (await expired.json())["error"]["message"]


async def test_token_route_is_scope_checked(secure_client):
    """Issuing needs a key allowed for the match; ttl is bounded; an unknown match is 404."""
    assert (await secure_client.post(f"/api/matches/{PRIVATE}/tokens", json={"ttl": 60})).status == 401
    scoped = await secure_client.post(f"/api/matches/{PRIVATE}/tokens", json={"ttl": 60}, headers=SCOPED)
    assert scoped.status == 403
    for ttl in (0, -1, 10**9, "soon"):
        response = await secure_client.post(f"/api/matches/{PRIVATE}/tokens", json={"ttl": ttl}, headers=AUTH)
        assert response.status == 422, ttl
        assert "ttl" in (await response.json())["error"]["fields"]
    assert (await secure_client.post("/api/matches/nowhere/tokens", json={}, headers=AUTH)).status == 404
    response = await secure_client.post(f"/api/matches/{PRIVATE}/tokens", headers=AUTH)  # no body: default ttl
    assert response.status == 201
    body = await response.json()
    assert body["matches"] == [PRIVATE] and body["ttl"] == 3600
    assert response.headers["Cache-Control"] == "no-store"


async def test_scoped_key_issues_tokens_for_its_own_match(make_client):
    """`key:match` may issue a token for that match only, and sees that private match listed."""
    client = await make_client()
    body = {"id": "scoped-match", "home": "A", "away": "B", "private": True}
    assert (await client.post("/api/matches", json=body, headers=AUTH)).status == 201
    token = await issue_token(client, "scoped-match", headers=SCOPED)
    assert (await client.get(f"/api/matches/scoped-match?token={token}")).status == 200
    assert await _ids(await client.get("/api/matches", headers=SCOPED)) == ["scoped-match"]


# -- pages -------------------------------------------------------------------------------------


async def test_private_pages_need_a_token(secure_client):
    """/matches/{id} and /embed/{id}: an HTML error without a token, the page with one; / hides it."""
    token = await issue_token(secure_client)
    for path in (f"/matches/{PRIVATE}", f"/embed/{PRIVATE}"):
        refused = await secure_client.get(path, headers={"Accept": "text/html"})
        assert refused.status == 401
        page = await refused.text()
        assert f"{PRIVATE}-home" not in page and "<html" in page.lower()
        expired = await secure_client.get(f"{path}?token={make_token([PRIVATE], exp_in=-5)}")
        assert expired.status == 401
        granted = await secure_client.get(f"{path}?token={token}")
        assert granted.status == 200
        assert f"{PRIVATE}-home" in await granted.text()
        assert "no-store" in granted.headers.get("Cache-Control", "")
    index = await (await secure_client.get("/")).text()
    assert PUBLIC in index and PRIVATE not in index


# -- WebSocket ---------------------------------------------------------------------------------


async def test_ws_subscribe_to_private_match_without_token_is_refused(secure_client):
    """No snapshot, an error naming the match; the connection stays up for public matches."""
    async with secure_client.ws_connect("/ws") as ws:
        await ws.send_json({"op": "subscribe", "matches": [PRIVATE, PUBLIC]})
        error = await receive_json(ws)
        assert error["type"] == "error" and error["code"] == "unauthorized" and error["match_id"] == PRIVATE
        snapshot = await receive_json(ws)
        assert snapshot["type"] == "snapshot" and snapshot["match"]["id"] == PUBLIC
        subscribed = await receive_json(ws)
        assert (subscribed["type"], subscribed["matches"]) == ("subscribed", [PUBLIC])
        await post_events(secure_client, PRIVATE, {"type": "period_start"})
        await assert_nothing_arrives(ws)


async def test_ws_token_in_query_opens_private_match(secure_client):
    """`/ws?matches=private&token=...` gets the snapshot and live events."""
    token = await issue_token(secure_client)
    async with secure_client.ws_connect(f"/ws?matches={PRIVATE}&token={token}") as ws:
        assert (await receive_json(ws))["type"] == "authenticated"
        snapshot = await receive_json(ws)
        assert snapshot["type"] == "snapshot" and snapshot["match"]["id"] == PRIVATE
        assert (await receive_json(ws))["type"] == "subscribed"
        await post_events(secure_client, PRIVATE, {"type": "period_start"})
        assert (await receive_json(ws))["match_id"] == PRIVATE


async def test_ws_auth_as_first_message(secure_client):
    """`?matches=private` without a token waits for {"op": "auth"} and then subscribes."""
    token = await issue_token(secure_client)
    async with secure_client.ws_connect(f"/ws?matches={PRIVATE}") as ws:
        await ws.send_json({"op": "auth", "token": token})
        assert (await receive_json(ws)) == {"type": "authenticated", "matches": [PRIVATE]}
        assert (await receive_json(ws))["type"] == "snapshot"


async def test_ws_auth_op_later_in_the_session(secure_client):
    """An auth op after connecting grants later subscribe ops."""
    token = await issue_token(secure_client)
    async with secure_client.ws_connect("/ws") as ws:
        await ws.send_json({"op": "auth", "token": token})
        assert (await receive_json(ws))["type"] == "authenticated"
        await ws.send_json({"op": "subscribe", "matches": [PRIVATE]})
        assert (await receive_json(ws))["type"] == "snapshot"


async def test_ws_expired_or_forged_token_gets_error_then_1008(secure_client):
    """A bad token in the query or in an auth op: an error message, then close code 1008."""
    bad_tokens = [make_token([PRIVATE], exp_in=-5), make_token([PRIVATE], secret=OTHER_SECRET)]
    for token in bad_tokens:
        async with secure_client.ws_connect(f"/ws?matches={PRIVATE}&token={token}") as ws:
            error = await receive_json(ws)
            assert error["type"] == "error" and error["code"] == "unauthorized"
            closing = await asyncio.wait_for(ws.receive(), 3)
            assert closing.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1008
        async with secure_client.ws_connect("/ws") as ws:
            await ws.send_json({"op": "auth", "token": token})
            assert (await receive_json(ws))["code"] == "unauthorized"
            await asyncio.wait_for(ws.receive(), 3)
            assert ws.close_code == 1008


async def test_ws_token_for_another_match_is_forbidden(secure_client):
    """A valid token that does not name the match: `forbidden` for that match, no snapshot."""
    token = make_token(["another-match"])
    async with secure_client.ws_connect(f"/ws?token={token}") as ws:
        assert (await receive_json(ws))["type"] == "authenticated"
        await ws.send_json({"op": "subscribe", "matches": [PRIVATE]})
        error = await receive_json(ws)
        assert error["code"] == "forbidden" and error["match_id"] == PRIVATE
        subscribed = await receive_json(ws)
        assert (subscribed["type"], subscribed["matches"]) == ("subscribed", [])


async def test_ws_wildcard_never_carries_ungranted_private_frames(secure_client):
    """A `*` fan sees public events only, unless its token grants the private match."""
    token = await issue_token(secure_client)
    async with secure_client.ws_connect("/ws?matches=*") as anonymous, \
            secure_client.ws_connect(f"/ws?matches=*&token={token}") as granted:
        assert (await receive_json(anonymous))["type"] == "subscribed"
        assert (await receive_json(granted))["type"] == "authenticated"
        assert (await receive_json(granted))["type"] == "subscribed"
        await post_events(secure_client, PRIVATE, {"type": "period_start"})
        await post_events(secure_client, PUBLIC, {"type": "period_start"})
        assert (await receive_json(anonymous))["match_id"] == PUBLIC
        assert (await receive_json(granted))["match_id"] == PRIVATE
        assert (await receive_json(granted))["match_id"] == PUBLIC
        await assert_nothing_arrives(anonymous)


async def test_ws_subscription_ends_when_its_token_expires(secure_client):
    """A connection following a private match is closed (1008) when the token granting it expires."""
    token = make_token([PRIVATE], exp_in=1.5)
    async with secure_client.ws_connect(f"/ws?matches={PRIVATE}&token={token}") as ws:
        for expected in ("authenticated", "snapshot", "subscribed"):
            assert (await receive_json(ws))["type"] == expected
        error = await receive_json(ws, timeout=5)
        assert error["code"] == "token_expired"
        closing = await asyncio.wait_for(ws.receive(), 3)
        assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 1008


# -- SSE ---------------------------------------------------------------------------------------


async def test_sse_private_match_needs_a_token(secure_client):
    """SSE: 401 JSON without a token or with a bad one, 403 for another match's token, a stream with one."""
    anonymous = await secure_client.get(f"/sse?matches={PRIVATE}")
    assert anonymous.status == 401 and (await anonymous.json())["error"]["code"] == "unauthorized"
    expired = await secure_client.get(f"/sse?matches={PRIVATE}&token={make_token([PRIVATE], exp_in=-5)}")
    assert expired.status == 401
    wrong = await secure_client.get(f"/sse?matches={PRIVATE}&token={make_token([PUBLIC])}")
    assert wrong.status == 403
    token = await issue_token(secure_client)
    stream = await secure_client.get(f"/sse?matches={PRIVATE}&token={token}")
    assert stream.status == 200
    snapshot = await read_sse_event(stream)
    assert snapshot["event"] == "snapshot" and json.loads(snapshot["data"])["match"]["id"] == PRIVATE
    stream.close()


async def test_sse_wildcard_never_carries_ungranted_private_frames(secure_client):
    """`/sse?matches=*` without a token gets the public event and not the private one."""
    stream = await secure_client.get("/sse?matches=*")
    assert stream.status == 200
    await post_events(secure_client, PRIVATE, {"type": "period_start"})
    await post_events(secure_client, PUBLIC, {"type": "period_start"})
    event = await read_sse_event(stream)
    assert json.loads(event["data"])["match_id"] == PUBLIC
    stream.close()


async def test_random_secret_when_none_is_configured(aiohttp_client, settings, caplog):
    """No secret: a warning that tokens die with the process, and tokens still work meanwhile."""
    from scoreboard.web.app import create_app

    client = await aiohttp_client(create_app(settings))
    assert any("SCOREBOARD_SECRET" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    body = {"id": PRIVATE, "home": "A", "away": "B", "private": True}
    assert (await client.post("/api/matches", json=body, headers=AUTH)).status == 201
    token = await issue_token(client)
    assert (await client.get(f"/api/matches/{PRIVATE}?token={token}")).status == 200
    assert (await client.get(f"/api/matches/{PRIVATE}?token={make_token([PRIVATE])}")).status == 401
