"""Security headers on every answer, so a page or script no handler thought about is covered too.

pages.py sets the page CSP itself (the embed route relaxes frame-ancestors); the error
middleware calls `add_security_headers` on every answer it passes on, which adds the rest and a
strict default CSP to any HTML that came without one (aiohttp's own error pages, a future page).
"""
from __future__ import annotations

from typing import Any

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
# same-origin sends no Referer to other sites: a `?token=` in a page address stays here.
REFERRER_POLICY = "same-origin"


def add_security_headers(headers: Any, content_type: str) -> None:
    """Add what `headers` lacks of ours; `content_type` decides whether it is a page."""
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    if content_type != "text/html":
        return
    csp = headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    # Old browsers ignore frame-ancestors; X-Frame-Options says the same to them. An embed
    # page sets a wider frame-ancestors and must not get it.
    if "frame-ancestors 'self'" in csp:
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
