"""HTML pages: server-rendered first paint, kept live by the scripts in static/.

Every page renders the current state on the server (a score is readable without JS) and
carries the seq it was rendered at in a `data-seq` attribute, so the live client resumes
from exactly there with `since` instead of asking for a snapshot it already has.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from scoreboard.domain import utc_now
from scoreboard.errors import CompetitionNotFound, MatchNotFound
from scoreboard.frames import match_epoch
from scoreboard.resources import STATIC, TEMPLATES, data_dir
from scoreboard.settings import DEV_KEY
from scoreboard.text import encode_text
from scoreboard.web.security.auth import Forbidden, Unauthorized
from scoreboard.web.keys import SERVICE_KEY, SETTINGS_KEY
from scoreboard.web.security.viewer import require_viewer, viewer_from_request, visible

from . import facts, labels, listing, state
from .modules import ModuleGraph

# The page timeline shows the same log tail a live snapshot carries, so a page and a
# snapshot never disagree about how far back the timeline goes.
TIMELINE_TAIL = 200

# The home page's latest results: older ones are on their competition's page (every fan
# downloads the home page; a season's results would make it megabytes).
HOME_RESULTS = 40

# Our pages load nothing from elsewhere; 'self' in connect-src also covers ws:/wss: to the
# same host. frame-ancestors is the only part /embed/{id} relaxes.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
)


def setup_pages(app: web.Application) -> None:
    """Register the page routes, the /static/ route and the Jinja environment on `app`."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(data_dir(TEMPLATES)),
        autoescape=True,
    )
    env.globals.update(
        status_label=labels.status_label, long_status=labels.long_status,
        short_status=labels.short_status, period_label=labels.period_label,
        leader=labels.leader, match_context=labels.match_context,
        kickoff_text=labels.kickoff_text, module_graph=ModuleGraph(data_dir(STATIC)).modules,
        epoch_of=epoch_of, closed=labels.closed, page_title=labels.page_title,
        clock_label=labels.clock_label, hero_clock=labels.hero_clock, kickoff=listing.kickoff,
    )
    env.filters["scorer_line"] = facts.scorer_line
    app.router.add_get("/", index, name="index")
    app.router.add_get("/matches/{match_id}", match_page, name="match_page")
    app.router.add_get("/competitions/{slug}", competition_page, name="competition_page")
    app.router.add_get("/console", console, name="console")
    app.router.add_get("/embed", embed_docs, name="embed_docs")
    app.router.add_get("/embed/{match_id}", embed_match, name="embed_match")
    app.router.add_static("/static/", data_dir(STATIC), name="static", append_version=False)


def epoch_of(match: dict[str, Any]) -> str:
    """The epoch of a match's log (frames.match_epoch): pages hand it to the live client with
    the seq they were rendered at, so its resume cursor names the log it belongs to."""
    created_at = match.get("created_at")
    return match_epoch(created_at) if created_at else ""


def _render(
    template: str, request: web.Request, context: dict[str, Any], *,
    status: int = 200, frame_ancestors: str = "'self'",
) -> web.Response:
    try:
        response = aiohttp_jinja2.render_template(template, request, context, status=status)
    except UnicodeEncodeError:
        # Text stored before lone surrogates were refused (text.py): shown as U+FFFD rather
        # than failing the page for everyone.
        html = aiohttp_jinja2.render_string(template, request, context)
        response = web.Response(body=encode_text(html), status=status, content_type="text/html", charset="utf-8")
    if context.get("private") or context.get("match", {}).get("private"):
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


def _moment() -> tuple[datetime, str]:
    """This request's instant: pages print the clock as of it and hand it to the live script
    (`data-now`), which ticks on server time until its connection says what the time is."""
    now = utc_now()
    return datetime.fromisoformat(now.replace("Z", "+00:00")), now


async def index(request: web.Request) -> web.Response:
    matches = await _listed_matches(request)
    sections = listing.sections(matches, results=HOME_RESULTS)
    shown = [match for section in sections for match in section.matches]
    now, now_iso = _moment()
    return _render("index.html", request, {
        "sections": sections, "has_matches": bool(shown),
        "private": any(m.get("private") for m in shown),
        "initial": state.list_state(shown), "now": now, "now_iso": now_iso,
    })


async def competition_page(request: web.Request) -> web.Response:
    """A competition's live tables, then its fixtures and results grouped by stage."""
    slug = request.match_info["slug"]
    matches = [m for m in await _listed_matches(request) if m.get("competition_slug") == slug]
    try:
        viewer = viewer_from_request(request)
        standings = await request.app[SERVICE_KEY].standings(
            slug, lambda match: not match.private or viewer.may_view(match.id))
    except (CompetitionNotFound, Unauthorized):
        matches = []
    if not matches:
        return _render("error.html", request, {
            "title": "Competition not found",
            "message": f"There is no competition “{slug}” with matches you can see.", "status": 404,
        }, status=404)
    now, now_iso = _moment()
    initial = {**state.list_state(matches), "tables": standings["tables"],
               "table_points": state.table_points()}
    return _render("competition.html", request, {
        "competition": standings["competition"], "tables": standings["tables"],
        "sections": listing.sections(matches, listing.by_stage), "matches": matches,
        "initial": initial, "now": now, "now_iso": now_iso,
        "private": any(m.get("private") for m in matches),
    })


async def match_page(request: web.Request) -> web.Response:
    match = await _visible_match(request)
    if isinstance(match, web.Response):
        return match
    service = request.app[SERVICE_KEY]
    since = max(0, int(match["seq"]) - TIMELINE_TAIL)
    events = await service.events_since(match["id"], since=since)
    # Scorers and quarter scores count every event of the match: the timeline's tail may not
    # reach back to the first goal of a long log.
    whole = events if since == 0 else await service.events_since(match["id"], since=0)
    retracted = set(match.get("retracted", ()))
    goals = facts.counting_goals(whole, retracted)
    now, now_iso = _moment()
    return _render("match.html", request, {
        "match": match,
        "events": events,
        "timeline": facts.timeline(events, match, retracted),
        "scorers": facts.scorers(goals),
        "goals": goals,
        "slots": facts.shootout_slots(match.get("shootout"), match["status"] == "finished"),
        "rounds": facts.shootout_rounds(match.get("shootout")),
        "linescore": facts.linescore(whole, retracted) if match.get("sport") == "basketball" else None,
        "now": now, "now_iso": now_iso,
    })


async def console(request: web.Request) -> web.Response:
    # The key is named only when it is the public built-in one (make run): a real key is
    # never in a page.
    dev_key = DEV_KEY if request.app[SETTINGS_KEY].uses_dev_key else None
    return _render("console.html", request, {"dev_key": dev_key})


async def embed_docs(request: web.Request) -> web.Response:
    """How to embed; the snippets and preview use `?match=` (a public match), else the first."""
    matches = [m for m in await request.app[SERVICE_KEY].list_matches() if not m.get("private")]
    wanted = request.query.get("match")
    chosen = next((m for m in matches if m["id"] == wanted), matches[0] if matches else None)
    example = chosen["id"] if chosen else "MATCH-ID"
    return _render("embed.html", request, {
        "origin": _origin(request), "example": example, "has_match": bool(matches),
    })


async def embed_match(request: web.Request) -> web.Response:
    match = await _visible_match(request)
    if isinstance(match, web.Response):
        return match
    service = request.app[SERVICE_KEY]
    since = max(0, int(match["seq"]) - 20)
    events = await service.events_since(match["id"], since=since)
    whole = events if since == 0 else await service.events_since(match["id"], since=0)
    retracted = set(match.get("retracted", ()))
    last = next(
        (e for e in reversed(events)
         if e["type"] not in ("retract", "notification", "clock") and e["seq"] not in retracted),
        None,
    )
    goals = facts.counting_goals(whole, retracted)
    theme = "dark" if request.query.get("theme") == "dark" else "light"
    compact = request.query.get("compact") not in (None, "", "0", "false")
    settings = request.app[SETTINGS_KEY]
    now, now_iso = _moment()
    return _render(
        "embed_match.html", request,
        {"match": match, "events": events, "last": last, "theme": theme, "compact": compact,
         "goals": goals, "scorers": facts.scorers(goals), "now": now, "now_iso": now_iso,
         "last_entry": next((entry for entry in facts.timeline(events, match, retracted)
                             if last and entry["seq"] == last["seq"]), None)},
        frame_ancestors=settings.frame_ancestors or "*",
    )
