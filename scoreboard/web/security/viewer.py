"""Who may see a private match: a viewer token (`?token=`, or `{"op": "auth"}` on /ws) or a
scorekeeper key (`Authorization: Bearer`), checked the same way by the API, pages and live feeds.

Public matches need nothing, but a token or key that is given must be valid: an expired or
forged one is refused (401) wherever it is sent, so a client learns at once that it is stale.
Secrets and tokens are never put in a log line or an error message.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError, fields, validate

from .auth import ApiKey, Forbidden, Unauthorized
from ..errors import read_json
from ..keys import KEYRING_KEY, SERVICE_KEY, SETTINGS_KEY, TOKENS_KEY
from .tokens import Grant, TokenError

routes = web.RouteTableDef()
DEFAULT_TOKEN_TTL = 3600


@dataclass(frozen=True)
class Viewer:
    """What one client may see beyond the public matches."""

    matches: frozenset[str] = frozenset()  # private matches granted
    every_match: bool = False  # an unscoped scorekeeper key
    credentialed: bool = False  # a valid token or key was given
    expires_at: float | None = None  # earliest expiry of the tokens that granted `matches`

    def may_view(self, match_id: str) -> bool:
        """Whether this viewer may see `match_id` if it is private."""
        return self.every_match or match_id in self.matches

    def with_grant(self, grant: Grant) -> Viewer:
        expires = grant.expires_at if self.expires_at is None else min(self.expires_at, grant.expires_at)
        return Viewer(self.matches | grant.matches, self.every_match, True, expires)

    @classmethod
    def of_key(cls, key: ApiKey) -> Viewer:
        return cls(key.matches or frozenset(), key.matches is None, True)


# The viewer of a request, worked out once (a handler and a page helper may both ask).
VIEWER_KEY: Any = web.RequestKey("viewer", Viewer) if hasattr(web, "RequestKey") else "viewer"


def viewer_from_token(app: web.Application, token: str, viewer: Viewer | None = None) -> Viewer:
    """`viewer` plus what `token` grants; raises Unauthorized for an expired or forged token."""
    try:
        grant = app[TOKENS_KEY].verify(token)
    except TokenError as exc:
        raise Unauthorized(str(exc)) from None
    return (viewer or Viewer()).with_grant(grant)


def viewer_from_request(request: web.Request) -> Viewer:
    """The viewer named by `?token=` and/or `Authorization: Bearer <key or token>`.

    Raises Unauthorized when either is given but not valid.
    """
    cached = request.get(VIEWER_KEY)
    if isinstance(cached, Viewer):
        return cached
    viewer = Viewer()
    token = request.query.get("token")
    if token is not None:
        viewer = viewer_from_token(request.app, token, viewer)
    authorization = request.headers.get("Authorization")
    if authorization:
        try:
            key = request.app[KEYRING_KEY].authenticate(authorization)
        except Unauthorized:
            bearer = authorization.partition(" ")[2].strip()
            if bearer.count(".") != 2:  # not a JWT: report the key as the bad credential
                raise
            viewer = viewer_from_token(request.app, bearer, viewer)
        else:
            key_viewer = Viewer.of_key(key)
            viewer = Viewer(viewer.matches | key_viewer.matches, key_viewer.every_match, True,
                            viewer.expires_at)
    request[VIEWER_KEY] = viewer
    return viewer


def refusal(viewer: Viewer, match_id: str) -> Unauthorized | Forbidden:
    """The error for a viewer that may not see private match `match_id`."""
    if viewer.credentialed:
        return Forbidden(f"your token or key does not grant match {match_id!r}")
    return Unauthorized(f"match {match_id!r} is private: open it with a viewer token (?token=...)")


async def require_viewer(request: web.Request, match: dict[str, Any] | str) -> dict[str, Any]:
    """The match view, if this request may see it; raises MatchNotFound, Unauthorized, Forbidden.

    `match` is a match view (as ScoreService.get_match returns) or a match id.
    """
    view = match if isinstance(match, dict) else await request.app[SERVICE_KEY].get_match(match)
    viewer = viewer_from_request(request)  # validates a given token even for a public match
    if view.get("private") and not viewer.may_view(view["id"]):
        raise refusal(viewer, view["id"])
    return view


def visible(viewer: Viewer, matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The public matches plus the private ones this viewer may see."""
    return [m for m in matches if not m.get("private") or viewer.may_view(m["id"])]


def private_headers(view: dict[str, Any]) -> dict[str, str]:
    """Keep shared caches from storing what only a token holder may see."""
    return {"Cache-Control": "private, no-store"} if view.get("private") else {}


class TokenRequestSchema(Schema):
    ttl = fields.Integer(load_default=DEFAULT_TOKEN_TTL, validate=validate.Range(min=1),
                         metadata={"description": "seconds the token stays valid"})


@routes.post("/api/matches/{match_id}/tokens")
async def issue_token(request: web.Request) -> web.Response:
    """A scorekeeper (key scoped to this match) issues a viewer token for it."""
    match_id = request.match_info["match_id"]
    request.app[KEYRING_KEY].authorize(request.headers.get("Authorization"), match_id)
    body = await read_json(request) if request.can_read_body else {}
    data = TokenRequestSchema().load(body if body is not None else {})
    max_ttl = request.app[SETTINGS_KEY].token_max_ttl
    if data["ttl"] > max_ttl:
        raise ValidationError({"ttl": [f"must be at most {max_ttl} seconds (token_max_ttl)"]})
    await request.app[SERVICE_KEY].get_match(match_id)  # 404 for an unknown match
    token, grant = request.app[TOKENS_KEY].issue([match_id], data["ttl"])
    return web.json_response(
        {"token": token, "matches": sorted(grant.matches), "ttl": data["ttl"],
         "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(grant.expires_at))},
        status=201, headers={"Cache-Control": "no-store"},
    )
