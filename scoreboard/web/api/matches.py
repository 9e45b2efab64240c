"""The JSON HTTP API: scorekeepers write, anyone reads public matches."""
from __future__ import annotations

from aiohttp import web
from marshmallow import ValidationError

from ... import schemas
from ...domain import STATUSES
from ..errors import read_json
from ..keys import INGEST_LIMITER_KEY, KEYRING_KEY, SERVICE_KEY
from ..security.viewer import private_headers, require_viewer, viewer_from_request, visible

routes = web.RouteTableDef()


@routes.post("/api/matches")
async def create_match(request: web.Request) -> web.Response:
    key = request.app[KEYRING_KEY].authenticate(request.headers.get("Authorization"))
    data = schemas.load_match(await read_json(request))
    if key.matches is not None and data.get("id") not in key.matches:
        from ..security.auth import Forbidden

        raise Forbidden("this API key may only create the matches it is scoped to (give their id)")
    match = await request.app[SERVICE_KEY].create_match(data)
    location = str(request.app.router["match"].url_for(match_id=match["id"]))
    return web.json_response(match, status=201, headers={"Location": location})


@routes.get("/api/matches")
async def list_matches(request: web.Request) -> web.Response:
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise ValidationError({"status": [f"must be one of: {', '.join(STATUSES)}"]})
    matches = await request.app[SERVICE_KEY].list_matches(status)
    return web.json_response({"matches": visible(viewer_from_request(request), matches)})


@routes.get("/api/matches/{match_id}", name="match")
async def get_match(request: web.Request) -> web.Response:
    match = await require_viewer(request, request.match_info["match_id"])
    return web.json_response(match, headers=private_headers(match))


@routes.get("/api/matches/{match_id}/events")
async def list_events(request: web.Request) -> web.Response:
    since = _non_negative_int(request, "since", 0) or 0
    limit = _non_negative_int(request, "limit", None)
    match = await require_viewer(request, request.match_info["match_id"])
    events = await request.app[SERVICE_KEY].events_since(match["id"], since, limit)
    return web.json_response({"events": events}, headers=private_headers(match))


@routes.post("/api/matches/{match_id}/events")
async def post_events(request: web.Request) -> web.Response:
    match_id = request.match_info["match_id"]
    key = request.app[KEYRING_KEY].authorize(request.headers.get("Authorization"), match_id)
    drafts = schemas.load_event_batch(await read_json(request))
    request.app[INGEST_LIMITER_KEY].charge(key, len(drafts))
    result = await request.app[SERVICE_KEY].ingest(match_id, drafts)
    return web.json_response(result.body, status=201 if result.created else 200)


def _non_negative_int(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise ValidationError({name: ["must be a whole number, 0 or more"]})
    return int(raw)
