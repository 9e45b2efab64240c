"""`GET /ws`: the WebSocket live feed (protocol in docs/architecture.md)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from ..errors import ScoreboardError
from ..hub import Frame
from ..metrics import METRICS_KEY, connection_closed, connection_opened
from .connections import ConnectionRegistry
from .keys import CONNECTIONS_KEY, HUB_KEY, SERVICE_KEY, SETTINGS_KEY
from .live_access import CLOSE_POLICY, LiveAccess, hold_client_slot
from .origins import origin_allowed
from .session import LiveSession, parse_matches, parse_since

log = logging.getLogger(__name__)

CLOSE_SLOW_CONSUMER = 1013  # "Try Again Later": resume with since after a pause
# Past this many bytes waiting in a fan's socket write buffer (the kernel's own buffer is
# full by then), frames wait in the session's bounded queue as shared Frame objects instead
# of per-fan byte copies; a fan that stays behind until that queue overflows gets 1013.
WRITE_HIGH_WATER = 16 * 1024

routes = web.RouteTableDef()


class WebSocketFan:
    """A WebSocket connection and its live session."""

    transport = "ws"

    def __init__(self, request: web.Request) -> None:
        settings = request.app[SETTINGS_KEY]
        self.metrics = request.app[METRICS_KEY]
        self.ws = web.WebSocketResponse(
            heartbeat=settings.ws_ping_interval,
            # Per-connection deflate would compress every fan-out frame once per fan.
            compress=False,
            max_msg_size=settings.max_ws_message_bytes,
        )
        self.session = LiveSession(
            request.app[SERVICE_KEY], request.app[HUB_KEY], self._send,
            buffer_limit=settings.subscriber_buffer, max_subscriptions=settings.max_subscriptions,
            on_overflow=self._on_overflow, on_sent=self.metrics.sample_sent,
            write_now=self._write_now,
        )
        # The connection's socket (public API); the WebSocket writer writes to this same one.
        self._socket: asyncio.Transport | None = request.transport  # type: ignore[assignment]
        # Access and limits (live_access.py), kept off the delivery path.
        self.access = LiveAccess(request, self.session, on_expired=self._token_expired)
        self._auth_timeout = settings.ws_auth_timeout
        self._idle_timeout = settings.ws_idle_timeout
        self._idle_timer: asyncio.TimerHandle | None = None

    async def _send(self, text: str, kind: str, cursor: str | None) -> None:
        if not self.ws.closed:
            await self.ws.send_str(text)

    def _write_now(self, frame: Frame) -> bool:
        """The fan-out fast path: the event's one pre-built frame, straight onto the socket.

        Safe beside aiohttp's own writer: without compression (declined above) it writes every
        frame, data or control (ping, pong, close), as whole bytes in one synchronous
        `transport.write` call on this thread, as this does, so frames cannot interleave.
        `ws.closed` turns true before aiohttp writes its close frame: nothing follows it.
        """
        socket = self._socket
        if self.ws.closed or socket is None or socket.is_closing():
            return True  # going away: nothing more to send, the handler cleans up
        if socket.get_write_buffer_size() > WRITE_HIGH_WATER:
            return False
        socket.write(frame.websocket_bytes())
        return True

    async def send_json(self, message: dict[str, Any]) -> None:
        await self._send(json.dumps(message), "control", None)

    def _on_overflow(self) -> None:
        self.metrics.slow_consumer(self.transport)
        asyncio.ensure_future(self.ws.close(
            code=CLOSE_SLOW_CONSUMER, message=b"slow consumer: reconnect and resume with since",
        ))

    async def close_for_restart(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=reason.encode())

    async def handle_message(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            await self.error("bad_message", "messages must be JSON objects")
            return
        if not isinstance(message, dict):
            await self.error("bad_message", "messages must be JSON objects")
            return
        op = message.get("op")
        if op == "ping":
            await self.send_json({"type": "pong"})
        elif op == "auth":
            await self.authenticate(message.get("token"))
        elif op in ("subscribe", "unsubscribe"):
            matches = message.get("matches")
            if not isinstance(matches, list) or not matches or not all(isinstance(m, str) for m in matches):
                await self.error("bad_message", f"{op} needs 'matches': a non-empty list of match ids")
                return
            if op == "unsubscribe":
                self.session.unsubscribe(matches)
                self.watch_idle()
                await self.send_json({"type": "unsubscribed", "matches": matches})
                return
            since = message.get("since") or {}
            if not isinstance(since, dict) or not all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
                for k, v in since.items()
            ):
                await self.error("bad_message", "'since' must map match ids to seqs (whole numbers)")
                return
            await self.subscribe(matches, since)
        else:
            await self.error("bad_message", "unknown op: use subscribe, unsubscribe, auth or ping")

    async def subscribe(self, matches: list[str], since: dict[str, int]) -> None:
        matches, refused = await self.access.screen(matches)
        for match_id, refusal in refused:
            await self.error(refusal.code, refusal.message, match_id=match_id)
        try:
            missing = await self.session.subscribe(matches, since) if matches else []
        except ScoreboardError as exc:
            await self.error(exc.code, exc.message)
            return
        for match_id in missing:
            await self.error("not_found", f"no match {match_id!r}", match_id=match_id)
        self.watch_idle()
        await self.send_json({"type": "subscribed", "matches": self.session.subscriptions})

    async def error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    # -- access and limits (live_access.py) ----------------------------------------------------

    async def admit(self, token: str | None, matches: list[str]) -> bool:
        """Check `?token=`; when the asked-for matches include private ones it does not grant,
        wait for `{"op": "auth"}` as the first message. False: refused and closed."""
        if token is not None and not await self.authenticate(token):
            return False
        if not matches or not await self.access.needs_auth(matches):
            return True
        try:
            msg = await self.ws.receive(timeout=self._auth_timeout)
        except asyncio.TimeoutError:
            await self.refuse("auth_timeout", f"send {{\"op\": \"auth\", \"token\": ...}} within "
                              f"{self._auth_timeout:g} s to follow a private match")
            return False
        if msg.type != WSMsgType.TEXT:
            if msg.type == WSMsgType.BINARY:
                await self.refuse("unauthorized", "the first message must be {\"op\": \"auth\", \"token\": ...}")
            return False
        with contextlib.suppress(ValueError):
            message = json.loads(msg.data)
            if isinstance(message, dict) and message.get("op") == "auth":
                return await self.authenticate(message.get("token"))
        await self.refuse("unauthorized", "the first message must be {\"op\": \"auth\", \"token\": ...}")
        return False

    async def authenticate(self, token: object) -> bool:
        """Add a viewer token's grant; an expired or forged one gets an error and close 1008."""
        try:
            self.access.authenticate(token)
        except ScoreboardError as exc:
            await self.refuse(exc.code, exc.message)
            return False
        await self.send_json({"type": "authenticated", "matches": sorted(self.access.viewer.matches)})
        return True

    async def refuse(self, code: str, message: str) -> None:
        """Tell the client why, then close with 1008 (policy violation)."""
        if self.ws.closed:
            return
        with contextlib.suppress(ConnectionResetError):
            await self.error(code, message)
        await self.ws.close(code=CLOSE_POLICY, message=message.encode()[:120])

    def watch_idle(self) -> None:
        """Run the idle clock while the fan follows nothing; stop it once it follows something."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._idle_timeout and not self.session.subscriptions:
            self._idle_timer = asyncio.get_running_loop().call_later(
                self._idle_timeout, self._refuse_soon, "idle",
                f"no subscription for {self._idle_timeout:g} s",
            )

    def _token_expired(self) -> None:
        self._refuse_soon("token_expired", "the viewer token has expired: reconnect with a new one")

    def _refuse_soon(self, code: str, message: str) -> None:
        asyncio.ensure_future(self.refuse(code, message))

    def stop_watching(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self.access.close()


@routes.get("/ws")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    # One coroutine for the connection's whole life, not a helper awaited from here: every
    # suspended frame on this stack is held for as long as the fan stays connected.
    settings = request.app[SETTINGS_KEY]
    if not origin_allowed(request.headers.get("Origin"), settings.allowed_origins):
        raise web.HTTPForbidden(reason="this origin may not open a WebSocket here")
    try:
        matches = parse_matches(request.query.get("matches", ""))
        since = parse_since(request.query.get("since", ""))
    except ValueError as exc:
        raise web.HTTPBadRequest(reason=str(exc)) from None
    release = hold_client_slot(request)  # 429 when this client address has too many open
    try:
        fan = WebSocketFan(request)
        await fan.ws.prepare(request)
        registry: ConnectionRegistry = request.app[CONNECTIONS_KEY]
        registry.add(fan)
        connection_opened(request, fan.transport)
        fan.session.start()
        try:
            if not await fan.admit(request.query.get("token"), matches):
                return fan.ws
            if matches:
                await fan.subscribe(matches, since)
            fan.watch_idle()
            async for msg in fan.ws:
                if msg.type == WSMsgType.TEXT:
                    await fan.handle_message(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await fan.error("bad_message", "binary frames are not supported; send JSON text")
        except ConnectionResetError:
            pass  # the fan went away mid-send: nothing to tell anyone
        finally:
            registry.discard(fan)
            fan.stop_watching()
            await fan.session.close()
            if not fan.ws.closed:
                await fan.ws.close()
            connection_closed(request, fan.transport, fan.ws.close_code)
        return fan.ws
    finally:
        release()
