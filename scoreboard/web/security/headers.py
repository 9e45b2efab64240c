"""Security headers on every answer, so a page or script no handler thought about is covered too.

pages/views.py sets the page CSP itself (the embed route relaxes frame-ancestors); the error
middleware calls `add_security_headers` on every answer it passes on, which adds the rest and a
strict default CSP to any HTML that came without one (aiohttp's own error pages, a future page).
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
# same-origin sends no Referer to other sites: a `?token=` in a page address stays here.
REFERRER_POLICY = "same-origin"
# Sent only on answers that came over HTTPS: a browser that saw one keeps to HTTPS for a year.
# No includeSubDomains: the service cannot know what else lives under its domain.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def came_over_https(request: web.Request, trust_forwarded: bool) -> bool:
    """TLS to us, or (behind a trusted router, as on Heroku) TLS to the router.

    The router appends its own X-Forwarded-Proto value last; earlier ones are the client's,
    whether on the same line or on lines of their own (read as one list, RFC 9110 5.3).
    """
    if request.secure:
        return True
    if trust_forwarded:
        proto = ",".join(request.headers.getall("X-Forwarded-Proto", ()))
        return proto.rsplit(",", 1)[-1].strip().lower() == "https"
    return False


def add_security_headers(headers: Any, content_type: str, https: bool = False) -> None:
    """Add what `headers` lacks of ours; `content_type` decides whether it is a page."""
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    if https:
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    if content_type != "text/html":
        return
    csp = headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    # Old browsers ignore frame-ancestors; X-Frame-Options says the same to them. An embed
    # page sets a wider frame-ancestors and must not get it.
    if "frame-ancestors 'self'" in csp:
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
