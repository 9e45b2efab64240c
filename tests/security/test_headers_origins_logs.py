"""Security headers on pages, the WebSocket Origin allowlist (cross-site hijacking), and secrets
kept out of the logs."""
from __future__ import annotations

import asyncio
import io
import logging
import re
from pathlib import Path

import aiohttp
import pytest

from conftest import OTHER_SECRET, PRIVATE, SECRET, issue_token, make_token
from scoreboard import redact
from support import KEY, create_match, post_events, receive_json

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _directives(csp: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in csp.split(";") if part.strip()}


async def test_pages_carry_csp_nosniff_referrer_and_frame_rules(make_client):
    """Normal pages: script-src 'self' without inline, nosniff, a referrer policy, not frameable."""
    client = await make_client()
    await create_match(client)
    for path in ("/", "/matches/arg-fra", "/console", "/embed"):
        response = await client.get(path)
        assert response.status == 200, path
        csp = _directives(response.headers["Content-Security-Policy"])
        assert csp["script-src"] == "script-src 'self'", path
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert csp["frame-ancestors"] == "frame-ancestors 'self'"
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")


async def test_embed_page_frame_ancestors_come_from_settings(make_client):
    """/embed/{id} may be framed by settings.frame_ancestors, and has no X-Frame-Options."""
    client = await make_client(frame_ancestors="https://partner.example")
    await create_match(client)
    response = await client.get("/embed/arg-fra")
    assert response.status == 200
    csp = _directives(response.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == "frame-ancestors https://partner.example"
    assert "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_api_and_static_answers_are_nosniff(make_client):
    """JSON, scripts and aiohttp's own errors get nosniff too."""
    client = await make_client()
    for path in ("/api/matches", "/static/live.js", "/no-such-page", "/api/matches/nowhere"):
        response = await client.get(path)
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path


async def test_hsts_only_on_answers_that_came_over_https(make_client):
    """Behind a trusted router (Heroku), X-Forwarded-Proto https earns Strict-Transport-Security;
    plain HTTP, or a claim the router did not make, does not."""
    behind_router = await make_client(trust_forwarded=True)
    for path in ("/", "/api/matches", "/no-such-page"):
        response = await behind_router.get(path, headers={"X-Forwarded-Proto": "https"})
        assert response.headers.get("Strict-Transport-Security") == "max-age=31536000", path
    response = await behind_router.get("/", headers={"X-Forwarded-Proto": "https, http"})  # router says http
    assert "Strict-Transport-Security" not in response.headers
    # The client's claim on a line of its own, the router's on the next: the router's counts.
    response = await behind_router.get("/", headers=[("X-Forwarded-Proto", "https"), ("X-Forwarded-Proto", "http")])
    assert "Strict-Transport-Security" not in response.headers
    assert "Strict-Transport-Security" not in (await behind_router.get("/")).headers
    direct = await make_client()  # not behind a router: the header is the client's own claim
    response = await direct.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


async def test_metrics_token_guards_the_scrape(make_client):
    """With metrics_token set, /metrics answers 401 JSON without the right bearer token."""
    client = await make_client(metrics_token="scrape-me")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {KEY}"}):
        response = await client.get("/metrics", headers=headers)
        assert response.status == 401, headers
        assert (await response.json())["error"]["code"] == "unauthorized"
    response = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status == 200
    assert "scoreboard_live_connections" in await response.text()
    open_client = await make_client()  # default: open, for a private network
    assert (await open_client.get("/metrics")).status == 200


def test_templates_have_no_inline_scripts():
    """CSP script-src 'self' holds: every <script> loads a file or is inert JSON data; no on* handlers."""
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, f"{template.name}: {tag}"
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), f"{template.name} has an inline event handler"
        assert "javascript:" not in html, template.name


# -- WebSocket Origin --------------------------------------------------------------------------


async def test_ws_origin_allowlist_blocks_cross_site_hijacking(make_client):
    """With allowed_origins set, another site's page cannot open /ws even holding a valid token."""
    client = await make_client(allowed_origins=("https://scores.example",))
    await create_match(client, PRIVATE, private=True)
    token = await issue_token(client)
    for origin in ("https://evil.example", "null", "https://scores.example.evil.example", "http://scores.example"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(f"/ws?matches={PRIVATE}&token={token}", headers={"Origin": origin})
        assert refused.value.status == 403, origin
    async with client.ws_connect(f"/ws?matches={PRIVATE}&token={token}",
                                 headers={"Origin": "https://scores.example"}) as ws:
        assert (await receive_json(ws))["type"] == "authenticated"
        assert (await receive_json(ws))["type"] == "snapshot"
    async with client.ws_connect("/ws") as tool:  # no Origin: not a browser, nothing to hijack
        await tool.send_json({"op": "ping"})
        assert (await receive_json(tool)) == {"type": "pong"}


async def test_ws_any_origin_when_allowlist_is_empty(make_client):
    """The public default: any site may embed the live feed of public matches."""
    client = await make_client()
    async with client.ws_connect("/ws", headers={"Origin": "https://fan-site.example"}) as ws:
        await ws.send_json({"op": "ping"})
        assert (await receive_json(ws)) == {"type": "pong"}


# -- secrets never logged ----------------------------------------------------------------------


@pytest.fixture
def captured_log():
    """Everything logged at DEBUG and up, as the real stdout handler would write it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.removeFilter(redact.SECRET_FILTER)


async def test_secrets_and_tokens_never_reach_the_log(make_client, captured_log):
    """Keys, the token secret and tokens (query, header, WS auth, forged) are absent from every log line."""
    client = await make_client(log_level="debug")
    await create_match(client, PRIVATE, private=True)
    token = await issue_token(client)
    forged = make_token([PRIVATE], secret=OTHER_SECRET)
    await client.get(f"/api/matches/{PRIVATE}?token={token}")
    await client.get(f"/api/matches/{PRIVATE}?token={forged}")
    await client.get(f"/matches/{PRIVATE}?token={token}", headers={"Referer": f"https://x.example/?token={token}"})
    await client.get(f"/api/matches/{PRIVATE}", headers={"Authorization": f"Bearer {token}"})
    await client.get("/api/matches", headers={"Authorization": "Bearer wrong-key-value-123"})
    await post_events(client, PRIVATE, {"type": "period_start"})
    async with client.ws_connect(f"/ws?matches={PRIVATE}") as ws:
        await ws.send_json({"op": "auth", "token": token})
        assert (await receive_json(ws))["type"] == "authenticated"
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"op": "auth", "token": forged})
        await receive_json(ws)
        await asyncio.wait_for(ws.receive(), 3)
    logging.getLogger("scoreboard.test").info("a careless line with %s and %s", token, KEY)
    await asyncio.sleep(0.1)  # access log lines are written after the response
    log = captured_log.getvalue()
    assert log, "nothing was logged: the test would prove nothing"
    for secret in (SECRET, KEY, token, forged, token.split(".")[2], "wrong-key-value-123"):
        assert secret not in log
    assert "<redacted>" in log


def test_redact_masks_query_tokens_bearer_and_jwts():
    """The patterns on their own: a token= value, a Bearer credential, a bare JWT, a literal."""
    text = ("GET /ws?matches=a&token=abc.def.ghi HTTP/1.1 Authorization: Bearer k3y-value "
            "eyJhbGciOi.eyJtYXRjaGVzIjpb.c2lnbmF0dXJl plain-secret-value")
    cleaned = redact.redact(text, ["plain-secret-value"])
    for secret in ("abc.def.ghi", "k3y-value", "eyJhbGciOi.eyJtYXRjaGVzIjpb.c2lnbmF0dXJl", "plain-secret-value"):
        assert secret not in cleaned
    assert "matches=a" in cleaned
