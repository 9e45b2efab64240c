"""`GET /ws`: the WebSocket live feed (protocol in docs/architecture.md)."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from ..errors import ScoreboardError
from ..metrics import METRICS_KEY, connection_closed, connection_opened
from .connections import ConnectionRegistry
from .keys import CONNECTIONS_KEY, HUB_KEY, SERVICE_KEY, SETTINGS_KEY
from .origins import origin_allowed
from .session import LiveSession, parse_matches, parse_since

log = logging.getLogger(__name__)

CLOSE_SLOW_CONSUMER = 1013  # "Try Again Later": resume with since after a pause
MAX_SUBSCRIPTIONS = 100

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
            buffer_limit=settings.subscriber_buffer, max_subscriptions=MAX_SUBSCRIPTIONS,
            on_overflow=self._on_overflow, on_sent=self.metrics.sample_sent,
        )

    async def _send(self, text: str, kind: str, cursor: str | None) -> None:
        if not self.ws.closed:
            await self.ws.send_str(text)

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
        elif op in ("subscribe", "unsubscribe"):
            matches = message.get("matches")
            if not isinstance(matches, list) or not matches or not all(isinstance(m, str) for m in matches):
                await self.error("bad_message", f"{op} needs 'matches': a non-empty list of match ids")
                return
            if op == "unsubscribe":
                self.session.unsubscribe(matches)
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
            await self.error("bad_message", "unknown op: use subscribe, unsubscribe or ping")

    async def subscribe(self, matches: list[str], since: dict[str, int]) -> None:
        try:
            missing = await self.session.subscribe(matches, since)
        except ScoreboardError as exc:
            await self.error(exc.code, exc.message)
            return
        for match_id in missing:
            await self.error("not_found", f"no match {match_id!r}", match_id=match_id)
        await self.send_json({"type": "subscribed", "matches": self.session.subscriptions})

    async def error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})


@routes.get("/ws")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    settings = request.app[SETTINGS_KEY]
    if not origin_allowed(request.headers.get("Origin"), settings.allowed_origins):
        raise web.HTTPForbidden(reason="this origin may not open a WebSocket here")
    try:
        matches = parse_matches(request.query.get("matches", ""))
        since = parse_since(request.query.get("since", ""))
    except ValueError as exc:
        raise web.HTTPBadRequest(reason=str(exc)) from None
    fan = WebSocketFan(request)
    await fan.ws.prepare(request)
    registry: ConnectionRegistry = request.app[CONNECTIONS_KEY]
    registry.add(fan)
    connection_opened(request, fan.transport)
    fan.session.start()
    try:
        if matches:
            await fan.subscribe(matches, since)
        async for msg in fan.ws:
            if msg.type == WSMsgType.TEXT:
                await fan.handle_message(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await fan.error("bad_message", "binary frames are not supported; send JSON text")
    except ConnectionResetError:
        pass  # the fan went away mid-send: nothing to tell anyone
    finally:
        registry.discard(fan)
        await fan.session.close()
        if not fan.ws.closed:
            await fan.ws.close()
        connection_closed(request, fan.transport, fan.ws.close_code)
    return fan.ws
