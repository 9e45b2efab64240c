"""`GET /ws`: the WebSocket live feed (protocol in docs/architecture.md).

aiohttp routes the upgrade request through our middlewares and the checks below; then
`handshake.take_over` gives the socket to a `websocket.WebSocketConnection` and the handler
returns at once. From there a fan is three small objects (connection, fan, session) and no
task: messages from the client are handled by a task that exists only while some wait.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from wsproto.connection import Connection

from ...domain import utc_now
from ...errors import InvalidInput, ScoreboardError, StoreUnavailable
from ...logs import ClientErrorLog
from ..metrics import METRICS_KEY, acknowledged_bytes, connection_closed, connection_opened
from .close_codes import CloseCode
from .connections import ConnectionRegistry
from .framing import shared_text_frame
from .handshake import accept_upgrade, take_over
from .heartbeat import Heartbeat
from ..errors import BadRequest, load_json
from ..keys import CLIENT_ERRORS_KEY, CONNECTIONS_KEY, HEARTBEAT_KEY, HUB_KEY, SERVICE_KEY, SETTINGS_KEY
from ..security.limits import client_address
from .access import LiveAccess, LiveSlot, hold_client_slot
from ..security.origins import origin_allowed
from .session import (
    MAX_SEQ, Cursor, LiveSession, invalid_match_ids, parse_cursor, parse_matches, parse_since,
)
from .websocket import CLOSE_TIMEOUT, WebSocketConnection

log = logging.getLogger(__name__)

# Messages from one client waiting to be handled; past this its socket is not read (TCP
# pushes back on the client) until the backlog halves. Nothing is dropped.
INBOX_LIMIT = 32
BINARY = None  # in the inbox: a binary message, which is refused
# An inbox item: a text message, BINARY, or a job of ours to run in turn with the messages.
Item = str | None | Callable[[], Awaitable[None]]

routes = web.RouteTableDef()


class WebSocketFan:
    """A WebSocket connection, its live session, and what its client asked for."""

    transport = "ws"
    __slots__ = (
        "connection", "session", "access", "_metrics", "_registry", "_heartbeat", "_release",
        "_log_fields", "_auth_timeout", "_idle_timeout", "_idle_timer", "_auth_timer",
        "_inbox", "_worker", "_opening", "_max_message", "_client_log", "_client",
    )

    def __init__(self, app: web.Application, slot: LiveSlot, client: str) -> None:
        settings = app[SETTINGS_KEY]
        self._metrics = app[METRICS_KEY]
        self._registry: ConnectionRegistry = app[CONNECTIONS_KEY]
        self._heartbeat: Heartbeat = app[HEARTBEAT_KEY]
        self._release = slot.release
        self.connection: WebSocketConnection | None = None  # set by connect(), at the take-over
        self.session = LiveSession(
            app[SERVICE_KEY], app[HUB_KEY], self._send,
            buffer_limit=settings.subscriber_buffer, max_subscriptions=settings.max_subscriptions,
            on_overflow=self._on_overflow, on_sent=self._metrics.sample_sent,
        )
        # Access and limits (access.py), kept off the delivery path.
        self.access = LiveAccess(app, self.session, on_expired=self._token_expired, end_opening=slot.opened)
        self._auth_timeout = settings.ws_auth_timeout
        self._idle_timeout = settings.ws_idle_timeout
        self._idle_timer: asyncio.TimerHandle | None = None
        self._auth_timer: asyncio.TimerHandle | None = None
        self._log_fields: dict[str, Any] = {}
        # Client messages (text, or BINARY) and our own jobs waiting for the worker task,
        # which exists only while some wait; all run one at a time, in arrival order.
        self._inbox: deque[Item] | None = None
        self._worker: asyncio.Task[None] | None = None
        # (matches, since) of the URL, held back until the client's auth message arrives.
        self._opening: tuple[list[str], dict[str, Cursor]] | None = None
        self._max_message = settings.max_ws_message_bytes
        self._client_log: ClientErrorLog = app[CLIENT_ERRORS_KEY]
        self._client = client

    def connect(self, transport: asyncio.Transport, ws: Connection, corked: bytes = b"") -> WebSocketConnection:
        """The fan's connection on `transport`; what it writes waits (with `corked`, the 101
        when not yet sent) until the opening's first catch-up is written (`_opened`)."""
        self.connection = WebSocketConnection(transport, self, self._max_message, ws, corked=corked)
        self.session.hold_notices()  # until the opening is written (`_open`)
        return self.connection

    def opened(self, token: str | None, matches: list[str], since: dict[str, Cursor],
               log_fields: dict[str, Any]) -> None:
        """The socket is ours: register, then check the token and subscribe to the URL's matches."""
        assert self.connection is not None
        self._registry.add(self)
        self._heartbeat.add(self.connection)
        self._log_fields = log_fields
        self._post(functools.partial(self._open, token, matches, since))

    # -- sending ---------------------------------------------------------------------------------

    async def _send(self, text: str, kind: str, cursor: str | None) -> None:
        connection = self.connection
        if connection is None or connection.closing:
            return
        if kind == "control":
            connection.send_text(text)  # this fan's own
        else:
            connection.write(shared_text_frame(text))  # a snapshot or event many fans get alike
        await connection.drain()

    async def send_json(self, message: dict[str, Any]) -> None:
        await self._send(json.dumps(message), "control", None)

    async def error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    # -- closing ---------------------------------------------------------------------------------

    def _close(self, code: int, reason: str) -> None:
        if self.connection is not None:
            self.connection.close(code, reason)

    def _on_overflow(self) -> None:
        self._metrics.slow_consumer(self.transport)
        self._close(CloseCode.TRY_AGAIN_LATER, "slow consumer: reconnect and resume with since")

    def close_soon(self, code: int, reason: str) -> None:
        """Send the close frame now; the connection ends when the client answers, or after
        the closing timeout (ConnectionRegistry.close_all waits for them all at once)."""
        self._close(code, reason)

    async def close_for_restart(self, code: int, reason: str) -> None:
        self._close(code, reason)
        if self.connection is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.connection.wait_closed(), CLOSE_TIMEOUT + 1)

    async def refuse(self, code: str, message: str) -> None:
        """Tell the client why, then close with 1008 (policy violation)."""
        if self.connection is None or self.connection.closing:
            return
        await self.error(code, message)
        self._close(CloseCode.POLICY_VIOLATION, message)

    def _refuse_soon(self, code: str, message: str) -> None:
        self._post(functools.partial(self.refuse, code, message))

    def _token_expired(self) -> None:
        self._refuse_soon("token_expired", "the viewer token has expired: reconnect with a new one")

    def on_closing(self) -> None:
        self.session.stop()  # before anything follows the close frame

    def on_closed(self, code: int) -> None:
        """The connection is gone (websocket.Listener): let go of everything it held."""
        self._registry.discard(self)
        if self.connection is not None:
            self._heartbeat.discard(self.connection)
        for timer in (self._idle_timer, self._auth_timer):
            if timer is not None:
                timer.cancel()
        self._idle_timer = self._auth_timer = None
        self.access.close()
        self._inbox = None
        if self._worker is not None:
            self._worker.cancel()
        followed = len(self.session.subscriptions)  # for the log line, before they are let go
        self.session.discard()
        self._release()
        connection_closed(self._log_fields, self.transport, code, matches=followed,
                          sent_bytes=acknowledged_bytes(self.connection and self.connection.transport))

    # -- client messages (websocket.Listener) ----------------------------------------------------

    def on_text(self, text: str) -> None:
        self._post(text)

    def on_binary(self) -> None:
        self._post(BINARY)

    def _post(self, item: Item) -> None:
        inbox = self._inbox
        if inbox is None:
            inbox = self._inbox = deque()
        inbox.append(item)
        if len(inbox) == INBOX_LIMIT and self.connection is not None:
            self.connection.transport.pause_reading()
        if self._worker is None:
            self._worker = asyncio.ensure_future(self._work())

    async def _work(self) -> None:
        """Handle the waiting items one at a time, then end."""
        inbox = self._inbox
        try:
            while inbox and self.connection is not None and not self.connection.closing:
                item = inbox.popleft()
                if len(inbox) == INBOX_LIMIT // 2:
                    self.connection.transport.resume_reading()
                await self._handle(item)
        except ConnectionResetError:
            pass  # the fan went away mid-send: on_closed cleans up
        except StoreUnavailable:
            # An overloaded or unreachable store is neither the fan's fault nor a bug (1011):
            # 1013 has it come back after a jittered pause and resume with since.
            self._close(CloseCode.TRY_AGAIN_LATER, "the score store is busy: reconnect shortly")
        except Exception:
            self._client_log.note(self._client, "WebSocket message handling failed", level=logging.ERROR, exc_info=True)
            self._close(CloseCode.INTERNAL_ERROR, "internal error: reconnect")
        finally:
            self._worker = None
            if self._inbox is not None and not self._inbox:
                self._inbox = None

    async def _handle(self, message: Item) -> None:
        if callable(message):
            await message()
        elif self._opening is not None:
            await self._authenticate_first(message)
        elif message is BINARY:
            await self.client_error("bad_message", "binary frames are not supported; send JSON text")
        else:
            await self.handle_message(message)

    # -- opening ---------------------------------------------------------------------------------

    async def _open(self, token: str | None, matches: list[str], since: dict[str, Cursor]) -> None:
        """Check `?token=`; when the asked-for matches include private ones it does not grant,
        wait for `{"op": "auth"}` as the first message, then subscribe. What this writes goes
        out in one write with the 101 (WebSocketConnection.uncork)."""
        try:
            await self._open_corked(token, matches, since)
        finally:
            connection = self.connection
            if connection is not None:
                connection.uncork()
                if not connection.closing:
                    # From now on event frames may go straight to the socket (session.try_write):
                    # not before, or one could overtake the corked opening.
                    self.session.write_to(connection.transport)

    async def _open_corked(self, token: str | None, matches: list[str], since: dict[str, Cursor]) -> None:
        if token is not None and not await self.authenticate(token):
            return
        if matches and await self.access.needs_auth(matches):
            self._opening = (matches, since)
            self._auth_timer = asyncio.get_running_loop().call_later(
                self._auth_timeout, self._refuse_soon, "auth_timeout",
                f"send {{\"op\": \"auth\", \"token\": ...}} within {self._auth_timeout:g} s to follow a private match",
            )
            return
        await self._subscribe_opening(matches, since)

    async def _subscribe_opening(self, matches: list[str], since: dict[str, Cursor]) -> None:
        if matches:
            await self.subscribe(matches, since)
        self.access.opened()  # another connection may open (max_handshakes, admission.py)
        self.watch_idle()

    async def _authenticate_first(self, message: str | None) -> None:
        assert self._opening is not None
        matches, since = self._opening
        self._opening = None
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        if message is not BINARY:
            with contextlib.suppress(ValueError):
                parsed = json.loads(message)
                if isinstance(parsed, dict) and parsed.get("op") == "auth":
                    if await self.authenticate(parsed.get("token")):
                        await self._subscribe_opening(matches, since)
                    return
        await self.refuse("unauthorized", "the first message must be {\"op\": \"auth\", \"token\": ...}")

    async def authenticate(self, token: object) -> bool:
        """Add a viewer token's grant; an expired or forged one gets an error and close 1008."""
        try:
            self.access.authenticate(token)
        except ScoreboardError as exc:
            await self.refuse(exc.code, exc.message)
            return False
        await self.send_json({"type": "authenticated", "matches": sorted(self.access.viewer.matches())})
        return True

    # -- the protocol ----------------------------------------------------------------------------

    async def handle_message(self, raw: str) -> None:
        try:
            message = load_json(raw)
        except BadRequest as exc:
            await self.client_error("bad_message", f"messages must be JSON objects: {exc.message}")
            return
        except InvalidInput as exc:
            await self.client_error(exc.code, exc.message, fields=exc.fields)
            return
        if not isinstance(message, dict):
            await self.client_error("bad_message", "messages must be JSON objects")
            return
        op = message.get("op")
        if op == "ping":
            await self.send_json({"type": "pong"})
        elif op == "auth":
            await self.authenticate(message.get("token"))
        elif op in ("subscribe", "unsubscribe"):
            matches = message.get("matches")
            if not isinstance(matches, list) or not matches or not all(isinstance(m, str) for m in matches):
                await self.client_error("bad_message", f"{op} needs 'matches': a non-empty list of match ids")
                return
            bad_ids = invalid_match_ids(matches)
            if bad_ids:
                await self.client_error("validation_failed", "some match ids are not valid", fields={"matches": bad_ids})
                return
            if op == "unsubscribe":
                self.session.unsubscribe(matches)
                self.watch_idle()
                await self.send_json({"type": "unsubscribed", "matches": matches})
                return
            since = op_cursors(message.get("since") or {})
            if since is None:
                await self.client_error(
                    "bad_message", "'since' must map match ids to seqs: whole numbers, or \"17@<epoch>\"",
                )
                return
            await self.subscribe(matches, since)
        else:
            await self.client_error("bad_message", "unknown op: use subscribe, unsubscribe, auth or ping")

    async def client_error(self, code: str, message: str, **extra: Any) -> None:
        """Tell the client what it got wrong (the connection stays); logged once per client per minute."""
        self._client_log.note(self._client, "%s on /ws: %s", code, message)
        await self.error(code, message, **extra)

    async def subscribe(self, matches: list[str], since: dict[str, Cursor]) -> None:
        matches, refused = await self.access.screen(matches)
        for match_id, refusal in refused:
            await self.error(refusal.code, refusal.message, match_id=match_id)
        try:
            missing = await self.session.subscribe(matches, since) if matches else []
        except StoreUnavailable:
            raise  # closes with 1013 (_work)
        except ScoreboardError as exc:
            await self.error(exc.code, exc.message)
            return
        for match_id in missing:
            await self.error("not_found", f"no match {match_id!r}", match_id=match_id)
        self.watch_idle()
        # `now`: the server's time, so a page can tick the match clock on server time
        # (its offset = now - its own clock at receipt) whatever its own clock says.
        await self.send_json({"type": "subscribed", "matches": self.session.subscriptions, "now": utc_now()})

    def watch_idle(self) -> None:
        """Run the idle clock while the fan follows nothing; stop it once it follows something."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._idle_timeout and not self.session.subscriptions and not (self.connection and self.connection.closing):
            self._idle_timer = asyncio.get_running_loop().call_later(
                self._idle_timeout, self._refuse_soon, "idle",
                f"no subscription for {self._idle_timeout:g} s",
            )


def op_cursors(since: object) -> dict[str, Cursor] | None:
    """A subscribe op's `since` ({"a": 17} or {"a": "17@<epoch>"}) as cursors; None if malformed."""
    if not isinstance(since, dict):
        return None
    cursors: dict[str, Cursor] = {}
    for match_id, value in since.items():
        if isinstance(value, bool) or not isinstance(match_id, str):
            return None
        if isinstance(value, int) and 0 <= value <= MAX_SEQ:
            cursors[match_id] = Cursor(value)
        elif isinstance(value, str):
            try:
                cursors[match_id] = parse_cursor(value)
            except ValueError:
                return None
        else:
            return None
    return cursors


@routes.get("/ws")
async def websocket(request: web.Request) -> web.StreamResponse:
    """A /ws upgrade the front door (front.py) left to aiohttp: each check below answers its
    own error; one that passes them all opens like the front door's (a request that came on
    a keep-alive connection, or in pieces)."""
    settings = request.app[SETTINGS_KEY]
    if not origin_allowed(request.headers.get("Origin"), settings.allowed_origins):
        raise web.HTTPForbidden(reason="this origin may not open a WebSocket here")
    try:
        matches = parse_matches(request.query.get("matches", ""))
        since = parse_since(request.query.get("since", ""))
    except ValueError as exc:
        raise web.HTTPBadRequest(reason=str(exc)) from None
    bad_ids = invalid_match_ids(matches)
    if bad_ids:
        raise InvalidInput("some match ids are not valid", {"matches": bad_ids})
    upgrade = accept_upgrade(request)  # 400 for a request that is not a valid upgrade
    slot = await hold_client_slot(request)  # 503 while too many open at once, 429 past the address's cap
    try:
        fan = WebSocketFan(request.app, slot, client_address(request, settings.trust_forwarded))
        response, tail = take_over(request, upgrade, fan.connect)
    except BaseException:
        slot.release()
        raise
    request.app[CONNECTIONS_KEY].taken_over(request.protocol)  # no longer an HTTP connection (listener.py)
    fan.opened(request.query.get("token"), matches, since, connection_opened(request, fan.transport))
    if tail and fan.connection is not None:
        fan.connection.data_received(tail)  # a first message sent right behind the request
    return response
