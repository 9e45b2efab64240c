"""Which other sites may read us: CORS for the read-only API and SSE, Origin checks for /ws."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .keys import SETTINGS_KEY

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Read-only routes other origins may call from a browser.
CORS_PREFIXES = ("/api/matches", "/sse", "/api/openapi.json")


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """No Origin header (not a browser), an empty allowlist or "*" all mean allowed."""
    if origin is None or not allowed or "*" in allowed:
        return True
    return origin.rstrip("/") in {entry.rstrip("/") for entry in allowed}


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    readable = request.method in ("GET", "HEAD", "OPTIONS") and request.path.startswith(CORS_PREFIXES)
    if not readable or origin is None:
        return await handler(request)
    allowed = request.app[SETTINGS_KEY].allowed_origins
    if not origin_allowed(origin, allowed):
        return await handler(request)  # no CORS headers: the browser keeps the answer from the page
    cors = {
        "Access-Control-Allow-Origin": "*" if not allowed or "*" in allowed else origin,
        "Access-Control-Expose-Headers": "X-Request-ID",
    }
    if allowed and "*" not in allowed:
        cors["Vary"] = "Origin"
    if request.method == "OPTIONS":
        cors["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        cors["Access-Control-Allow-Headers"] = "Last-Event-ID, Content-Type"
        cors["Access-Control-Max-Age"] = "86400"
        return web.Response(status=204, headers=cors)
    response = await handler(request)
    response.headers.update(cors)
    return response
