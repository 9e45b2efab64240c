"""The textbook aiohttp broadcast server: the yardstick `bench/run.py` measures us against.

Deliberately naive, as found in tutorials and in the field: aiohttp defaults (which accept
permessage-deflate and compress per connection), one `await ws.send_str(msg)` per subscriber
in turn, no storage. It speaks just enough of our protocol for the load generator:
`GET /ws?matches=a` (a snapshot, then one `event` message per event), `POST /api/matches`,
`POST /api/matches/{id}/events` (one event, a list, or `{"events": [...]}`) and `GET /healthz`.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

# match id -> its subscribers; a plain set, as in the textbook.
Subscribers = dict[str, set[web.WebSocketResponse]]
SUBSCRIBERS = web.AppKey("subscribers", dict)
MATCHES = web.AppKey("matches", dict)


def _view(match: dict[str, Any]) -> dict[str, Any]:
    return {key: match[key] for key in ("id", "home", "away", "status", "period", "score", "seq")}


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def create_match(request: web.Request) -> web.Response:
    body = await request.json()
    match_id = body.get("id") or f"m{len(request.app[MATCHES]) + 1}"
    if match_id in request.app[MATCHES]:
        return web.json_response({"error": {"code": "match_exists", "message": match_id}}, status=409)
    match = {
        "id": match_id,
        "home": body.get("home", "Home"),
        "away": body.get("away", "Away"),
        "status": "scheduled",
        "period": 0,
        "score": {"home": 0, "away": 0},
        "seq": 0,
    }
    request.app[MATCHES][match_id] = match
    return web.json_response(_view(match), status=201, headers={"Location": f"/api/matches/{match_id}"})


async def post_events(request: web.Request) -> web.Response:
    match = request.app[MATCHES].get(request.match_info["id"])
    if match is None:
        return web.json_response({"error": {"code": "not_found", "message": "no such match"}}, status=404)
    body = await request.json()
    events = body["events"] if isinstance(body, dict) and "events" in body else body
    if isinstance(events, dict):
        events = [events]
    stored = []
    for event in events:
        match["seq"] += 1
        kind = event.get("type")
        if kind == "goal":
            match["score"][event["team"]] += 1
        elif kind == "period_start":
            match["status"], match["period"] = "live", event.get("period", match["period"] + 1)
        at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record = {"seq": match["seq"], "id": event.get("id", f"srv-{match['seq']}"), "at": at, **event}
        stored.append(record)
        message = json.dumps(
            {
                "type": "event",
                "match_id": match["id"],
                "seq": match["seq"],
                "event": record,
                "score": match["score"],
                "status": match["status"],
                "period": match["period"],
            }
        )
        # The textbook loop. (A copy of the set: a subscriber leaving mid-loop must not crash it.)
        for ws in list(request.app[SUBSCRIBERS][match["id"]]):
            try:
                await ws.send_str(message)
            except ConnectionError:
                request.app[SUBSCRIBERS][match["id"]].discard(ws)
    return web.json_response({"events": stored, "seq": match["seq"], "score": match["score"]}, status=201)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    match_ids = [m for m in request.query.get("matches", "").split(",") if m]
    for match_id in match_ids:
        request.app[SUBSCRIBERS][match_id].add(ws)
        match = request.app[MATCHES].get(match_id)
        if match is not None:
            await ws.send_str(json.dumps({"type": "snapshot", "match": _view(match), "events": []}))
    try:
        async for _ in ws:
            pass
    finally:
        for match_id in match_ids:
            request.app[SUBSCRIBERS][match_id].discard(ws)
    return ws


def make_app() -> web.Application:
    app = web.Application()
    app[SUBSCRIBERS] = defaultdict(set)
    app[MATCHES] = {}
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/api/matches", create_match)
    app.router.add_post("/api/matches/{id}/events", post_events)
    app.router.add_get("/ws", websocket)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
