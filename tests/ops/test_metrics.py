"""GET /metrics and the request/connection log, against a real app and real clients."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scoreboard.logs import JsonFormatter
from scoreboard.web.metrics import PUBLISH_SAMPLE_EVERY
from scoreboard.settings import Settings
from scoreboard.web.app import create_app
from support import AUTH, KEY, create_match, post_events, receive_json

METRIC_NAMES = {
    "scoreboard_live_connections", "scoreboard_subscriptions", "scoreboard_deliveries",
    "scoreboard_events_ingested", "scoreboard_slow_consumer_drops", "scoreboard_ingest_seconds",
    "scoreboard_publish_to_send_seconds", "scoreboard_store_ready", "scoreboard_http_requests",
    "scoreboard_http_request_seconds", "scoreboard_live_openings", "scoreboard_live_openings_refused",
}


async def scrape(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_metrics_lists_every_family(client: Any) -> None:
    """A fresh app exposes every metric family, with the store ready."""
    response = await client.get("/metrics")
    families = {f.name for f in text_string_to_metric_families(await response.text())}
    assert METRIC_NAMES <= families
    samples = await scrape(client)
    assert value(samples, "scoreboard_store_ready", backend="sqlite") == 1
    assert value(samples, "scoreboard_live_connections", transport="ws") == 0


async def test_metrics_follow_ingest_and_fan_out(client: Any) -> None:
    """Events by type, connections, subscriptions, deliveries and both latencies move as they happen."""
    await create_match(client, "m1")
    await create_match(client, "m2")
    async with client.ws_connect("/ws?matches=m1,m2") as ws, client.get("/sse?matches=m1") as sse:
        assert sse.status == 200
        for _ in range(3):  # two snapshots, subscribed
            await receive_json(ws)
        samples = await scrape(client)
        assert value(samples, "scoreboard_live_connections", transport="ws") == 1
        assert value(samples, "scoreboard_live_connections", transport="sse") == 1
        assert value(samples, "scoreboard_subscriptions") == 3
        await post_events(client, "m1", {"type": "period_start"})
        assert (await receive_json(ws))["seq"] == 1
        for seq in range(2, PUBLISH_SAMPLE_EVERY + 2):
            await post_events(client, "m1", {"type": "goal", "team": "home"})
            assert (await receive_json(ws))["seq"] == seq
        samples = await scrape(client)
    goals = PUBLISH_SAMPLE_EVERY
    assert value(samples, "scoreboard_events_ingested_total", type="goal") == goals
    assert value(samples, "scoreboard_events_ingested_total", type="period_start") == 1
    assert value(samples, "scoreboard_events_ingested_total", type="card") == 0
    # Each event went to the WebSocket fan and the SSE fan.
    assert value(samples, "scoreboard_deliveries_total") == 2 * (goals + 1)
    assert value(samples, "scoreboard_ingest_seconds_count") == goals + 1
    assert value(samples, "scoreboard_publish_to_send_seconds_count") >= 1
    assert value(
        samples, "scoreboard_http_requests_total",
        method="POST", route="/api/matches/{match_id}/events", status="201",
    ) == goals + 1
    await asyncio.sleep(0.1)
    samples = await scrape(client)
    assert value(samples, "scoreboard_live_connections", transport="ws") == 0
    assert value(samples, "scoreboard_subscriptions") == 0


async def test_slow_consumer_drop_is_counted(aiohttp_client: Any, settings: Settings) -> None:
    """A fan whose buffer overflows is cut off with 1013 and counted."""
    client = await aiohttp_client(create_app(dataclasses.replace(settings, subscriber_buffer=1, ingest_rate=0)))
    await create_match(client, "m1")
    async with client.ws_connect("/ws?matches=m1") as ws:
        await receive_json(ws)
        await receive_json(ws)
        # The fan stops reading: once its socket is backed up, frames queue and the buffer of 1
        # overflows (a fan that reads is written to directly and never queues).
        ws._response.connection.transport.pause_reading()
        batch = [{"type": "notification", "title": "x" * 100, "text": "y" * 700}] * 50
        for _ in range(200):
            await post_events(client, "m1", batch)
            if value(await scrape(client), "scoreboard_slow_consumer_drops_total", transport="ws") == 1:
                break
        ws._response.connection.transport.resume_reading()
        message = await asyncio.wait_for(ws.receive(), 3)
        while message.type == aiohttp.WSMsgType.TEXT:
            message = await asyncio.wait_for(ws.receive(), 3)
        assert message.data == 1013 or ws.close_code == 1013
    samples = await scrape(client)
    assert value(samples, "scoreboard_slow_consumer_drops_total", transport="ws") == 1


async def test_each_app_has_its_own_registry(aiohttp_client: Any, tmp_path: Path) -> None:
    """Two apps in one process count separately and do not clash on registration."""
    first = await aiohttp_client(create_app(Settings(db=str(tmp_path / "a.db"), api_keys=(KEY,))))
    second = await aiohttp_client(create_app(Settings(db=str(tmp_path / "b.db"), api_keys=(KEY,))))
    await create_match(first, "m1")
    await post_events(first, "m1", {"type": "period_start"})
    assert value(await scrape(first), "scoreboard_events_ingested_total", type="period_start") == 1
    assert value(await scrape(second), "scoreboard_events_ingested_total", type="period_start") == 0


async def test_request_log_line_has_request_id_and_no_secrets(
    client: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """One line per request with method, path, status, duration and the id the error body shows."""
    caplog.set_level(logging.INFO)
    response = await client.get(
        "/api/matches/nope?token=viewer-token-secret", headers={"X-Request-ID": "req-404-abc"},
    )
    body = await response.json()
    assert response.status == 404 and body["error"]["request_id"] == "req-404-abc"
    await client.post("/api/matches", json={"home": "A"},
                      headers={"Authorization": "Bearer not-a-real-key-secret"})
    await client.post("/api/matches", json={"home": "A"}, headers=AUTH)
    access = [r for r in caplog.records if r.name == "scoreboard.access"]
    assert len(access) == 3
    line = access[0]
    assert (line.method, line.path, line.status, line.request_id) == (
        "GET", "/api/matches/nope", 404, "req-404-abc")
    assert line.duration_ms >= 0
    entry = json.loads(JsonFormatter().format(line))
    assert {"method", "path", "status", "duration_ms", "request_id"} <= set(entry)
    assert [r.status for r in access[1:]] == [401, 422]
    # aiohttp's own access log (on in the test server, off in `serve`) writes the query string.
    ours = [r for r in caplog.records if r.name != "aiohttp.access"]
    everything = "\n".join(JsonFormatter().format(r) for r in ours)
    for secret in ("viewer-token-secret", "not-a-real-key-secret", KEY, "Bearer"):
        assert secret not in everything


async def test_live_connections_are_logged_once_when_they_close(
    client: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """A WebSocket gets one log line, when it closes (no access line for its upgrade), with
    how long it lasted, the matches it followed, the bytes sent and the close code; an SSE
    stream one close line beside its request's access line."""
    caplog.set_level(logging.INFO)
    await create_match(client, "m1")
    async with client.ws_connect("/ws?matches=m1") as ws:
        await receive_json(ws)
        await asyncio.sleep(0.05)
    async with client.get("/sse?matches=m1") as sse:
        await asyncio.wait_for(sse.content.readline(), 3)
    await asyncio.sleep(0.2)
    live = [(r.transport, r.getMessage().split()[1]) for r in caplog.records if r.name == "scoreboard.live"]
    assert live == [("ws", "closed"), ("sse", "closed")]
    accessed = [r.path for r in caplog.records if r.name == "scoreboard.access"]
    assert "/ws" not in accessed and "/sse" in accessed
    closed = next(r for r in caplog.records if r.name == "scoreboard.live" and r.transport == "ws")
    entry = json.loads(JsonFormatter().format(closed))
    assert entry["transport"] == "ws" and entry["close_code"] == 1000 and entry["matches"] == 1
    assert entry["duration_ms"] >= 50
    assert entry["sent_bytes"] > 100  # the snapshot and the confirmation, at least
