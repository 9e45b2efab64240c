"""`GET /sse?matches=a,b`: the same live feed as /ws over Server-Sent Events.

Each message's `id` is the cursor of every subscribed match (`a:17,b:3`), so the browser's
automatic reconnect sends it back as Last-Event-ID and resumes exactly where it stopped.
"""
from __future__ import annotations

import json
import random

from aiohttp import web
from aiohttp_sse import EventSourceResponse

from ...errors import InvalidInput
from ..metrics import METRICS_KEY, connection_closed, connection_opened
from ..keys import CONNECTIONS_KEY, HUB_KEY, SERVICE_KEY, SETTINGS_KEY
from .access import LiveAccess, LiveSlot, hold_client_slot
from .session import Cursor, LiveSession, invalid_match_ids, parse_matches, parse_since
from ..security.viewer import viewer_from_request

routes = web.RouteTableDef()
KEEPALIVE_SECONDS = 15.0


class SseFan:
    transport = "sse"

    def __init__(self, request: web.Request) -> None:
        settings = request.app[SETTINGS_KEY]
        self.metrics = request.app[METRICS_KEY]
        self.response = EventSourceResponse(ping_interval=KEEPALIVE_SECONDS)
        self.session = LiveSession(
            request.app[SERVICE_KEY], request.app[HUB_KEY], self._send,
            buffer_limit=settings.subscriber_buffer, max_subscriptions=settings.max_subscriptions,
            on_overflow=self._on_overflow, on_sent=self.metrics.sample_sent, cursor_ids=True,
        )

    async def _send(self, text: str, kind: str, cursor: str | None) -> None:
        try:
            await self.response.send(text, id=cursor or None, event=kind)
        except (ConnectionResetError, TimeoutError):
            self._stop()

    def _on_overflow(self) -> None:
        self.metrics.slow_consumer(self.transport)
        self._stop()

    def _stop(self) -> None:
        if self.response.is_connected():
            self.response.stop_streaming()

    async def close_for_restart(self, code: int, reason: str) -> None:
        # `retry` spreads the reconnects of thousands of fans over a few seconds.
        message = json.dumps({"type": "restart", "code": code, "reason": reason})
        try:
            await self.response.send(message, event="restart", retry=random.randint(1000, 5000))
        except (ConnectionResetError, TimeoutError, RuntimeError):
            pass
        self._stop()


@routes.get("/sse")
async def server_sent_events(request: web.Request) -> web.StreamResponse:
    matches = parse_matches(request.query.get("matches", ""))
    if not matches:
        raise web.HTTPBadRequest(reason="give ?matches=a,b (or * for every match)")
    bad_ids = invalid_match_ids(matches)
    if bad_ids:
        raise InvalidInput("some match ids are not valid", {"matches": bad_ids})
    limit = request.app[SETTINGS_KEY].max_subscriptions
    if len(matches) > limit:
        raise web.HTTPBadRequest(reason=f"at most {limit} matches per connection")
    try:
        since = parse_since(request.headers.get("Last-Event-ID") or request.query.get("since", ""))
    except ValueError as exc:
        raise web.HTTPBadRequest(reason=str(exc)) from None
    slot = await hold_client_slot(request)  # 429 when this client address has too many open
    try:
        return await _stream(request, matches, since, slot)
    finally:
        slot.release()


async def _stream(request: web.Request, matches: list[str], since: dict[str, Cursor],
                  slot: LiveSlot) -> web.StreamResponse:
    fan = SseFan(request)
    # Access (access.py): a private match needs ?token= granting it; refused before streaming.
    access = LiveAccess(request.app, fan.session, on_expired=fan._stop, end_opening=slot.opened)
    access.adopt(viewer_from_request(request))
    matches, refused = await access.screen(matches)
    if refused:
        access.close()
        raise refused[0][1]
    await fan.response.prepare(request)
    registry = request.app[CONNECTIONS_KEY]
    registry.add(fan)
    connection_opened(request, fan.transport)
    fan.session.start()
    try:
        missing = await fan.session.subscribe(matches, since)
        access.opened()  # another connection may open (max_handshakes, admission.py)
        for match_id in missing:
            await fan._send(json.dumps({"type": "error", "code": "not_found",
                                        "message": f"no match {match_id!r}", "match_id": match_id}),
                            # Not "error": EventSource fires that name for dropped connections too.
                            "problem", None)
        await fan.response.wait()
    finally:
        registry.discard(fan)
        access.close()
        await fan.session.close()
        connection_closed(request, fan.transport)
    return fan.response
