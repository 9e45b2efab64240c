"""Access and limits for one live connection (/ws or /sse), kept out of the delivery path.

What a connection may follow is decided when it subscribes: public matches always, a private
one only with a viewer token or scorekeeper key that grants it. A subscription made with a
token ends when that token expires (the client reconnects with a new one). Wildcard
subscriptions are filtered per frame in session.py through `LiveSession.may_view_private`.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from ...errors import MatchNotFound, ScoreboardError
from ...hub import WILDCARD
from ..security.auth import Unauthorized
from ..keys import CLIENT_CONNECTIONS_KEY, HANDSHAKES_KEY, SERVICE_KEY, SETTINGS_KEY
from ..security.limits import ClientConnections, client_address
from .session import LiveSession
from ..security.viewer import Viewer, refusal, viewer_from_token

EXPIRY_SLACK = 0.05  # seconds after a grant's end before it is acted on
# Matches whose privacy one connection remembers; past it the memory starts over, so a client
# subscribing to id after id cannot grow it without bound.
PRIVACY_MEMORY = 256


class LiveSlot:
    """A live connection's place among those opening now (admission.py) and among its client
    address's open live connections (security/limits.py).

    Made before any work is done for an opening; raises ServerBusy (503 + Retry-After) when
    too many connections are opening at once. `take` then takes one of the address's
    connections. The opening's place is given back by `opened` (once the first catch-up is
    sent, or the connection waits on its client) and by `release` (when it closes), which also
    gives back the address's connection. Both may be called any number of times.
    """

    __slots__ = ("_end_opening", "_connections", "_address", "_held")

    def __init__(self, app: web.Application, address: str) -> None:
        self._end_opening: Callable[[], None] | None = app[HANDSHAKES_KEY].admit()
        self._connections: ClientConnections = app[CLIENT_CONNECTIONS_KEY]
        self._address = address
        self._held = False

    def take(self) -> Awaitable[None] | None:
        """Take one of the address's connections: at once (None), or, in Redis mode, by
        awaiting what is returned. Raises TooManyConnections (429), at once or when awaited;
        the opening's place is given back then."""
        try:
            acquiring = self._connections.acquire(self._address)
        except BaseException:
            self.opened()
            raise
        if acquiring is None:
            self._held = True
            return None
        return self._acquire(acquiring)

    async def _acquire(self, acquiring: Awaitable[None]) -> None:
        try:
            await acquiring
        except BaseException:
            self.opened()
            raise
        self._held = True

    def opened(self) -> None:
        """The opening is over: another connection may open (max_handshakes)."""
        end, self._end_opening = self._end_opening, None
        if end is not None:
            end()

    def release(self) -> None:
        """The connection is gone: give back both places."""
        self.opened()
        if self._held:
            self._held = False
            releasing = self._connections.release(self._address)
            if releasing is not None:
                asyncio.ensure_future(releasing)  # called from connection callbacks: cannot wait


async def hold_client_slot(request: web.Request) -> LiveSlot:
    """A LiveSlot for an upgrade or SSE request that came through aiohttp, taken; raises
    ServerBusy (503) or TooManyConnections (429) before any upgrade."""
    slot = LiveSlot(request.app, client_address(request, request.app[SETTINGS_KEY].trust_forwarded))
    taking = slot.take()
    if taking is not None:
        await taking
    return slot


class LiveAccess:
    """The viewer behind one live connection and the private matches it follows."""

    def __init__(self, app: web.Application, session: LiveSession, on_expired: Callable[[], None],
                 end_opening: Callable[[], None] | None = None) -> None:
        self._app = app
        self._session = session
        self._on_expired = on_expired
        self._expiry: asyncio.TimerHandle | None = None
        self._end_opening = end_opening  # LiveSlot.opened
        self._checked_at = time.time()  # grants that ended before this were acted on
        self.viewer = Viewer()
        self.private_followed: set[str] = set()  # private match ids subscribed with a grant
        # match id -> whether it is private, for matches this connection has asked about: a
        # match's privacy never changes, and a subscribe is screened twice (needs_auth, then
        # screen), so the second costs no store read.
        self._private: dict[str, bool] = {}
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
        granted private ones as followed (the caller is about to subscribe to them). Raises
        StoreUnavailable when the store cannot be reached.
        """
        allowed: list[str] = []
        refused: list[tuple[str, ScoreboardError]] = []
        service = self._app[SERVICE_KEY]
        for match_id in match_ids:
            if match_id == WILDCARD:
                allowed.append(match_id)
                continue
            private = self._private.get(match_id)
            if private is None:
                try:
                    private = await service.is_private(match_id)
                except MatchNotFound:  # not remembered: it may be created later
                    allowed.append(match_id)
                    continue
                if len(self._private) >= PRIVACY_MEMORY:
                    self._private.clear()
                self._private[match_id] = private
            if not private:
                allowed.append(match_id)
            elif self.viewer.may_view(match_id):
                allowed.append(match_id)
                if follow:
                    self.private_followed.add(match_id)
            else:
                refused.append((match_id, refusal(self.viewer, match_id)))
        return allowed, refused

    async def needs_auth(self, match_ids: list[str]) -> bool:
        """Whether some of `match_ids` are private and not yet granted. If so the connection
        waits for the client's auth message: it gives up its place among those opening, so
        clients that never send one cannot hold every place (admission.py)."""
        waits = bool((await self.screen(match_ids, follow=False))[1])
        if waits:
            self.opened()
        return waits

    def opened(self) -> None:
        """The connection's opening is done (its first catch-up is sent): another may open."""
        if self._end_opening is not None:
            self._end_opening()
            self._end_opening = None

    def close(self) -> None:
        self.opened()
        if self._expiry is not None:
            self._expiry.cancel()

    def _arm_expiry(self) -> None:
        """Wake up when the next grant ends (each token's grant ends with that token)."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        ends = self.viewer.next_expiry()
        if ends is None:
            return
        # time.time() and the loop's clock drift apart a little: wake just after the end.
        delay = max(0.0, ends - time.time()) + EXPIRY_SLACK
        self._expiry = asyncio.get_running_loop().call_later(delay, self._expired)

    def _expired(self) -> None:
        """A grant ended: a subscription that needed it ends too (the client reconnects with a
        new token); later subscribe ops and the wildcard's private frames check the grant's end
        themselves (Viewer.may_view)."""
        self._expiry = None
        now = time.time()
        lapsed = {match_id for match_id in self.private_followed if not self.viewer.may_view(match_id, now)}
        subscriptions = set(self._session.subscriptions)
        self.private_followed -= lapsed
        # A wildcard may have carried the private matches whose grants just ended.
        ended = any(self._checked_at < until <= now for until in self.viewer.grants.values())
        self._checked_at = now
        if lapsed & subscriptions or (WILDCARD in subscriptions and ended):
            self._on_expired()
            return
        self._arm_expiry()
