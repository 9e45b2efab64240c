"""Webhook signatures, in the scheme receivers know from Stripe and GitHub.

`Scoreboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`.
The time is signed with the body, so a receiver that refuses an old `t` stops a captured
delivery from being replayed; `Scoreboard-Event-Id` lets it drop the duplicates that
at-least-once delivery allows. After a secret rotation the header carries one `v1` per
secret still in force (the new one first), so a receiver accepts a delivery if any `v1`
matches its secret and can switch secrets on its own time. The README shows the receiver's side.
"""
from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Scoreboard-Signature"
EVENT_ID_HEADER = "Scoreboard-Event-Id"
DEFAULT_TOLERANCE = 300  # seconds a receiver should accept between `t` and its clock


def signature(secrets: str | list[str], body: bytes, timestamp: int) -> str:
    """The header value signing `body` at `timestamp` with each secret (one `v1` each)."""
    signed = f"{timestamp}.".encode() + body
    macs = [hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
            for secret in ([secrets] if isinstance(secrets, str) else secrets)]
    return ",".join([f"t={timestamp}", *(f"v1={mac}" for mac in macs)])


def verify(secret: str, body: bytes, header: str, tolerance: int = DEFAULT_TOLERANCE,
           now: float | None = None) -> bool:
    """Whether one of the `v1`s of `header` signs `body` with `secret`, within `tolerance`
    seconds of now."""
    pairs = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value for name, value in pairs if name == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, value) for name, value in pairs if name == "v1")
