"""HTML pages: server-rendered first paint, kept live by the scripts in static/.

Every page renders the current state on the server (a score is readable without JS) and
carries the seq it was rendered at in a `data-seq` attribute, so the live client resumes
from exactly there with `since` instead of asking for a snapshot it already has.
"""
from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from scoreboard.errors import MatchNotFound
from scoreboard.resources import STATIC, TEMPLATES, data_dir
from scoreboard.web.security.auth import Forbidden, Unauthorized
from scoreboard.web.keys import SERVICE_KEY, SETTINGS_KEY
from scoreboard.web.security.viewer import require_viewer, viewer_from_request, visible

# The page timeline shows the same log tail a live snapshot carries, so a page and a
# snapshot never disagree about how far back the timeline goes.
TIMELINE_TAIL = 200

# Our pages load nothing from elsewhere; 'self' in connect-src also covers ws:/wss: to the
# same host. frame-ancestors is the only part /embed/{id} relaxes.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
)

STATUS_LABELS = {
    "scheduled": "Scheduled",
    "live": "Live",
    "half_time": "Half time",
    "finished": "Full time",
    "postponed": "Postponed",
    "abandoned": "Abandoned",
}


def setup_pages(app: web.Application) -> None:
    """Register the page routes, the /static/ route and the Jinja environment on `app`."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(data_dir(TEMPLATES)),
        autoescape=True,
    )
    env.globals["status_label"] = status_label
    env.globals["period_label"] = period_label
    app.router.add_get("/", index, name="index")
    app.router.add_get("/matches/{match_id}", match_page, name="match_page")
    app.router.add_get("/console", console, name="console")
    app.router.add_get("/embed", embed_docs, name="embed_docs")
    app.router.add_get("/embed/{match_id}", embed_match, name="embed_match")
    app.router.add_static("/static/", data_dir(STATIC), name="static", append_version=False)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def period_label(period: int | None) -> str:
    return f"Period {period}" if period else ""


def _render(
    template: str, request: web.Request, context: dict[str, Any], *,
    status: int = 200, frame_ancestors: str = "'self'",
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    if context.get("match", {}).get("private"):
        response.headers["Cache-Control"] = "private, no-store"   # only token holders see it
    response.headers["Content-Security-Policy"] = _CSP.format(ancestors=frame_ancestors)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _not_found(request: web.Request, match_id: str) -> web.Response:
    return _render(
        "error.html", request,
        {"title": "Match not found",
         "message": f"There is no match with the id “{match_id}”.",
         "status": 404},
        status=404,
    )


def _refused(request: web.Request, exc: Unauthorized | Forbidden) -> web.Response:
    return _render(
        "error.html", request,
        {"title": "This match is private", "message": exc.message, "status": exc.status},
        status=exc.status,
    )


async def _visible_match(request: web.Request) -> dict[str, Any] | web.Response:
    """The match of the URL if this visitor may see it, else the error page to answer with."""
    match_id = request.match_info["match_id"]
    try:
        return await require_viewer(request, match_id)
    except MatchNotFound:
        return _not_found(request, match_id)
    except (Unauthorized, Forbidden) as exc:
        return _refused(request, exc)


async def _listed_matches(request: web.Request) -> list[dict[str, Any]]:
    """Public matches plus the private ones a valid ?token= or key grants."""
    matches = await request.app[SERVICE_KEY].list_matches()
    try:
        viewer = viewer_from_request(request)
    except Unauthorized:
        return [m for m in matches if not m.get("private")]
    return visible(viewer, matches)


def _origin(request: web.Request) -> str:
    """The origin the visitor used, for copy-paste snippets (honours a proxy's scheme)."""
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    return f"{scheme}://{request.host}"


async def index(request: web.Request) -> web.Response:
    matches = await _listed_matches(request)
    order = {"live": 0, "half_time": 1, "scheduled": 2, "postponed": 3}
    matches.sort(key=lambda m: (order.get(m["status"], 4), m.get("starts_at") or "", m["id"]))
    return _render("index.html", request, {"matches": matches})


async def match_page(request: web.Request) -> web.Response:
    match = await _visible_match(request)
    if isinstance(match, web.Response):
        return match
    since = max(0, int(match["seq"]) - TIMELINE_TAIL)
    events = await request.app[SERVICE_KEY].events_since(match["id"], since=since)
    return _render("match.html", request, {
        "match": match,
        "events": list(reversed(events)),
        "retracted": set(match.get("retracted", ())),
        "by_seq": {e["seq"]: e for e in events},
    })


async def console(request: web.Request) -> web.Response:
    return _render("console.html", request, {})


async def embed_docs(request: web.Request) -> web.Response:
    matches = [m for m in await request.app[SERVICE_KEY].list_matches() if not m.get("private")]
    example = matches[0]["id"] if matches else "MATCH-ID"
    return _render("embed.html", request, {
        "origin": _origin(request), "example": example, "has_match": bool(matches),
    })


async def embed_match(request: web.Request) -> web.Response:
    match = await _visible_match(request)
    if isinstance(match, web.Response):
        return match
    service = request.app[SERVICE_KEY]
    events = await service.events_since(match["id"], since=max(0, int(match["seq"]) - 20))
    retracted = set(match.get("retracted", ()))
    last = next(
        (e for e in reversed(events)
         if e["type"] not in ("retract", "notification") and e["seq"] not in retracted),
        None,
    )
    theme = "dark" if request.query.get("theme") == "dark" else "light"
    compact = request.query.get("compact") not in (None, "", "0", "false")
    settings = request.app[SETTINGS_KEY]
    return _render(
        "embed_match.html", request,
        {"match": match, "events": events, "last": last, "theme": theme, "compact": compact},
        frame_ancestors=settings.frame_ancestors or "*",
    )
