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


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers preflight requests; the headers themselves are added in `add_cors_headers`."""
    cors = _cors_headers(request)
    if cors is not None and request.method == "OPTIONS":
        return web.Response(status=204, headers={
            **cors,
            "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
            "Access-Control-Allow-Headers": "Last-Event-ID, Content-Type",
            "Access-Control-Max-Age": "86400",
        })
    return await handler(request)


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: reaches streamed answers (SSE) too, which middlewares cannot."""
    cors = _cors_headers(request)
    if cors is not None:
        response.headers.update(cors)
