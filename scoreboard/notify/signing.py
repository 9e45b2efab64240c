"""Webhook signatures, in the scheme receivers know from Stripe and GitHub.

`Scoreboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`.
The time is signed with the body, so a receiver that refuses an old `t` stops a captured
delivery from being replayed; `Scoreboard-Event-Id` lets it drop the duplicates that
at-least-once delivery allows. The README shows the receiver's side.
"""
from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Scoreboard-Signature"
EVENT_ID_HEADER = "Scoreboard-Event-Id"
DEFAULT_TOLERANCE = 300  # seconds a receiver should accept between `t` and its clock


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, tolerance: int = DEFAULT_TOLERANCE,
           now: float | None = None) -> bool:
    """Whether `header` signs `body` with `secret` within `tolerance` seconds of now."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).rpartition("v1=")[2]
    return hmac.compare_digest(expected, parts.get("v1", ""))
