"""Which other sites may read us: CORS for the read-only API and SSE, Origin checks for /ws."""
from __future__ import annotations

from aiohttp import web

from ..keys import SETTINGS_KEY

# Read-only routes other origins may call from a browser.
CORS_PREFIXES = ("/api/matches", "/sse", "/api/openapi.json")


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """No Origin header (not a browser), an empty allowlist or "*" all mean allowed."""
    if origin is None or not allowed or "*" in allowed:
        return True
    return origin.rstrip("/") in {entry.rstrip("/") for entry in allowed}


def _cors_headers(request: web.Request) -> dict[str, str] | None:
    """The CORS headers a read-only cross-origin request gets, or None."""
    origin = request.headers.get("Origin")
    if origin is None or request.method not in ("GET", "HEAD", "OPTIONS"):
        return None
    if not request.path.startswith(CORS_PREFIXES):
        return None
    allowed = request.app[SETTINGS_KEY].allowed_origins
    if not origin_allowed(origin, allowed):
        return None  # no CORS headers: the browser keeps the answer from the page
    if not allowed or "*" in allowed:
        return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "X-Request-ID"}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "X-Request-ID",
            "Vary": "Origin"}


def preflight_response(request: web.Request) -> web.Response | None:
    """The answer to a CORS preflight, or None for any other request (the error middleware asks
    before calling the route's handler); actual answers get their headers in `add_cors_headers`."""
    if request.method != "OPTIONS":
        return None
    cors = _cors_headers(request)
    if cors is None:
        return None
    return web.Response(status=204, headers={
        **cors,
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "Last-Event-ID, Content-Type",
        "Access-Control-Max-Age": "86400",
    })


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: reaches streamed answers (SSE) too, which middlewares cannot."""
    cors = _cors_headers(request)
    if cors is not None:
        response.headers.update(cors)
