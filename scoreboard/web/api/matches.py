"""The JSON HTTP API: scorekeepers write, anyone reads public matches, fixtures and tables."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from aiohttp import web
from marshmallow import ValidationError

from ... import schemas
from ...domain import STATUSES, Match
from ..errors import read_json
from ..keys import INGEST_LIMITER_KEY, KEYRING_KEY, SERVICE_KEY
from ..security.viewer import Viewer, private_headers, require_viewer, viewer_from_request, visible

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

routes = web.RouteTableDef()
MAX_DIGITS = 18  # a seq or a count: far below 2**63, and below Python's 4,300-digit parse limit


# The events routes come first: the router tries the resources under /api/matches in the order
# they were added, and posting events is the hottest request there is (see web/app.py).
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
    charging = request.app[INGEST_LIMITER_KEY].charge(key, len(drafts))
    if charging is not None:  # Redis mode: the budget is the whole service's
        await charging
    result = await request.app[SERVICE_KEY].ingest(match_id, drafts)
    return web.json_response(result.body, status=201 if result.created else 200)


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
    """Filters: `status`, `competition` (a slug from /api/competitions), `date` (UTC day of
    the kickoff, YYYY-MM-DD)."""
    query = request.query
    status = query.get("status")
    if status is not None and status not in STATUSES:
        raise ValidationError({"status": [f"must be one of: {', '.join(STATUSES)}"]})
    competition = query.get("competition")
    if competition is not None and not SLUG.match(competition):
        raise ValidationError({"competition": ["must be a competition slug, e.g. fifa-world-cup-2022"]})
    day = query.get("date")
    if day is not None and not _is_day(day):
        raise ValidationError({"date": ["must be a date as YYYY-MM-DD (UTC)"]})
    matches = await request.app[SERVICE_KEY].list_matches(status, competition, day)
    return web.json_response({"matches": visible(viewer_from_request(request), matches)})


@routes.get("/api/competitions")
async def list_competitions(request: web.Request) -> web.Response:
    viewer = viewer_from_request(request)
    found = await request.app[SERVICE_KEY].competitions(_allowed(viewer))
    return web.json_response({"competitions": found}, headers=_viewer_headers(viewer))


@routes.get("/api/competitions/{slug}/standings")
async def competition_standings(request: web.Request) -> web.Response:
    viewer = viewer_from_request(request)
    body = await request.app[SERVICE_KEY].standings(request.match_info["slug"], _allowed(viewer))
    return web.json_response(body, headers=_viewer_headers(viewer))


@routes.get("/api/matches/{match_id}", name="match")
async def get_match(request: web.Request) -> web.Response:
    match = await require_viewer(request, request.match_info["match_id"])
    return web.json_response(match, headers=private_headers(match))


def _allowed(viewer: Viewer) -> Callable[[Match], bool]:
    return lambda match: not match.private or viewer.may_view(match.id)


def _viewer_headers(viewer: Viewer) -> dict[str, str]:
    """What a token or key unlocks may include private matches: keep it out of shared caches."""
    return {"Cache-Control": "private, no-store"} if viewer.credentialed else {}


def _is_day(text: str) -> bool:
    if not DAY.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _non_negative_int(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_DIGITS):
        raise ValidationError({name: [f"must be a whole number, 0 or more, at most {MAX_DIGITS} digits"]})
    return int(raw)
