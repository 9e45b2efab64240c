"""Access and limits for one live connection (/ws or /sse), kept out of the delivery path.

What a connection may follow is decided when it subscribes: public matches always, a private
one only with a viewer token or scorekeeper key that grants it. A subscription made with a
token ends when that token expires (the client reconnects with a new one). Wildcard
subscriptions are filtered per frame in session.py through `LiveSession.may_view_private`.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import web

from ...errors import MatchNotFound, ScoreboardError
from ...hub import WILDCARD
from ..security.auth import Unauthorized
from ..keys import CLIENT_CONNECTIONS_KEY, SERVICE_KEY, SETTINGS_KEY
from ..security.limits import client_address
from .session import LiveSession
from ..security.viewer import Viewer, refusal, viewer_from_token


def hold_client_slot(request: web.Request) -> Callable[[], None]:
    """Take one of the client address's live connections and return what gives it back.

    Raises TooManyConnections (429, before any upgrade) when the address has none left.
    """
    connections = request.app[CLIENT_CONNECTIONS_KEY]
    address = client_address(request, request.app[SETTINGS_KEY].trust_forwarded)
    connections.acquire(address)
    return lambda: connections.release(address)


class LiveAccess:
    """The viewer behind one live connection and the private matches it follows."""

    def __init__(self, request: web.Request, session: LiveSession, on_expired: Callable[[], None]) -> None:
        self._app = request.app
        self._session = session
        self._on_expired = on_expired
        self._expiry: asyncio.TimerHandle | None = None
        self.viewer = Viewer()
        self.private_followed: set[str] = set()  # private match ids subscribed with a grant
        session.may_view_private = lambda match_id: self.viewer.may_view(match_id)

    def adopt(self, viewer: Viewer) -> None:
        """Follow with the rights of `viewer` (checked from the request by security/viewer.py)."""
        self.viewer = viewer
        self._arm_expiry()

    def authenticate(self, token: object) -> None:
        """Add what `token` grants; raises Unauthorized for an expired, forged or missing token."""
        if not isinstance(token, str) or not token:
            raise Unauthorized("auth needs 'token': a viewer token")
        self.viewer = viewer_from_token(self._app, token, self.viewer)
        self._arm_expiry()

    async def screen(
        self, match_ids: list[str], *, follow: bool = True,
    ) -> tuple[list[str], list[tuple[str, ScoreboardError]]]:
        """Split match ids into those this viewer may follow and refusals (id, error).

        Unknown ids pass through, for the session to report as not found. `follow`: record the
        granted private ones as followed (the caller is about to subscribe to them).
        """
        allowed: list[str] = []
        refused: list[tuple[str, ScoreboardError]] = []
        service = self._app[SERVICE_KEY]
        for match_id in match_ids:
            if match_id == WILDCARD:
                allowed.append(match_id)
                continue
            try:
                view = await service.get_match(match_id)
            except MatchNotFound:
                allowed.append(match_id)
                continue
            if not view.get("private"):
                allowed.append(match_id)
            elif self.viewer.may_view(match_id):
                allowed.append(match_id)
                if follow:
                    self.private_followed.add(match_id)
            else:
                refused.append((match_id, refusal(self.viewer, match_id)))
        return allowed, refused

    async def needs_auth(self, match_ids: list[str]) -> bool:
        """Whether some of `match_ids` are private and not yet granted."""
        return bool((await self.screen(match_ids, follow=False))[1])

    def close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()

    def _arm_expiry(self) -> None:
        if self.viewer.expires_at is None or self.viewer.every_match:
            return
        if self._expiry is not None:
            self._expiry.cancel()
        delay = max(0.0, self.viewer.expires_at - time.time())
        self._expiry = asyncio.get_running_loop().call_later(delay, self._expired)

    def _expired(self) -> None:
        self._expiry = None
        if self.private_followed & set(self._session.subscriptions) or WILDCARD in self._session.subscriptions:
            self._on_expired()
