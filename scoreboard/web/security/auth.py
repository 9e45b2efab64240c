"""Scorekeeper API keys: `Authorization: Bearer <key>`, compared in constant time.

A key may be scoped to some matches (`key:match-a|match-b` in SCOREBOARD_API_KEYS): it is
then refused (403) for every other match.
"""
from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from ...errors import ScoreboardError


class Unauthorized(ScoreboardError):
    code = "unauthorized"
    status = 401


class Forbidden(ScoreboardError):
    code = "forbidden"
    status = 403


@dataclass(frozen=True)
class ApiKey:
    secret: bytes
    matches: frozenset[str] | None  # None: every match

    def allows(self, match_id: str) -> bool:
        return self.matches is None or match_id in self.matches


class KeyRing:
    def __init__(self, entries: Iterable[str]) -> None:
        self._keys = [parse_key(entry) for entry in entries]

    def __len__(self) -> int:
        return len(self._keys)

    def authenticate(self, authorization: str | None) -> ApiKey:
        """The key named by an Authorization header; raises Unauthorized."""
        if not authorization:
            raise Unauthorized("send your scorekeeper key as 'Authorization: Bearer <key>'")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <key>'")
        offered = token.strip().encode()
        found: ApiKey | None = None
        for key in self._keys:  # no early exit: the time taken does not tell which key matched
            if hmac.compare_digest(key.secret, offered):
                found = key
        if found is None:
            raise Unauthorized("this API key is not valid")
        return found

    def authorize(self, authorization: str | None, match_id: str) -> ApiKey:
        key = self.authenticate(authorization)
        if not key.allows(match_id):
            raise Forbidden(f"this API key may not write to match {match_id!r}")
        return key


def parse_key(entry: str) -> ApiKey:
    secret, _, scope = entry.partition(":")
    matches = frozenset(m for m in scope.split("|") if m) if scope else None
    return ApiKey(secret=secret.encode(), matches=matches)
