"""Security headers on every answer, so a page or script no handler thought about is covered too.

pages.py sets the page CSP itself (the embed route relaxes frame-ancestors); this middleware
adds the rest and a strict default CSP to any HTML that came without one (aiohttp's own error
pages, a future page).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
# same-origin sends no Referer to other sites: a `?token=` in a page address stays here.
REFERRER_POLICY = "same-origin"


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _add(exc.headers, exc.content_type)
        raise
    if not response.prepared:  # a WebSocket or SSE stream has sent its headers already
        _add(response.headers, response.content_type)
    return response


def _add(headers: Any, content_type: str) -> None:
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    if content_type != "text/html":
        return
    csp = headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    # Old browsers ignore frame-ancestors; X-Frame-Options says the same to them. An embed
    # page sets a wider frame-ancestors and must not get it.
    if "frame-ancestors 'self'" in csp:
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
