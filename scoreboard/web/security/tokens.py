"""Viewer tokens: JWTs (HS256) that open private matches to whoever holds them until they expire.

Claims: `matches` (the match ids granted), `exp`, `iat`, and `aud` = "scoreboard-viewer" so a
JWT signed with the same secret for some other purpose is not taken for a viewer token.
No aiohttp here: the edge (viewer.py) maps TokenError to 401.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

AUDIENCE = "scoreboard-viewer"
ALGORITHM = "HS256"
# RFC 7518 §3.2: an HS256 key shorter than the hash output weakens the signature.
MIN_SECRET_BYTES = 32


class TokenError(Exception):
    """A token that is expired, forged, malformed or not a viewer token; the message says which."""


@dataclass(frozen=True)
class Grant:
    matches: frozenset[str]
    expires_at: float  # Unix time


class ViewerTokens:
    """Issues and checks viewer tokens with one secret. Never logs the secret or a token."""

    def __init__(self, secret: str) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret

    def __repr__(self) -> str:  # keep the secret out of tracebacks and debug dumps
        return "ViewerTokens(<secret>)"

    def issue(self, match_ids: Iterable[str], ttl: int, now: float | None = None) -> tuple[str, Grant]:
        issued = int(time.time() if now is None else now)
        grant = Grant(frozenset(match_ids), float(issued + ttl))
        claims = {"matches": sorted(grant.matches), "aud": AUDIENCE, "iat": issued, "exp": issued + ttl}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), grant

    def verify(self, token: str) -> Grant:
        """The grant a token carries; raises TokenError."""
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], audience=AUDIENCE,
                options={"require": ["exp", "aud", "matches"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("the viewer token has expired: ask for a new one") from None
        except jwt.InvalidTokenError:
            raise TokenError("the viewer token is not valid") from None
        matches = claims["matches"]
        if not isinstance(matches, list) or not all(isinstance(m, str) for m in matches):
            raise TokenError("the viewer token is not valid")
        return Grant(frozenset(matches), float(claims["exp"]))


def random_secret() -> str:
    return secrets.token_urlsafe(48)
