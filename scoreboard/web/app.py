"""create_app(settings) -> web.Application: wiring only, no logic of its own."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from ..hub import Hub
from ..logs import CLIENT_ERRORS, quiet_parser_errors
from ..presence import WatchingCounter, make_presence
from ..service import ScoreService
from ..settings import Settings
from ..store import make_store
from .api import matches
from .api.docs import setup_api_docs
from .api.notify_wiring import setup_notify
from .errors import error_middleware
from .keys import (
    CLIENT_ERRORS_KEY, CONNECTIONS_KEY, FRONT_DOOR_KEY, HANDSHAKES_KEY, HEARTBEAT_KEY, HUB_KEY, KEYRING_KEY, SERVICE_KEY,
    SETTINGS_KEY, WATCHING_KEY,
)
from .live import sse, ws
from .live.admission import HandshakeAdmission
from .live.close_codes import CloseCode
from .live.connections import ConnectionRegistry
from .live.front import LiveFrontDoor
from .live.handoff import check_aiohttp
from .live.heartbeat import Heartbeat, heartbeat_lifetime
from .metrics import request_log_middleware, setup_metrics
from .pages.views import setup_pages
from .security.auth import KeyRing
from .security.origins import add_cors_headers
from .security.wiring import setup_security

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    check_aiohttp()  # fails at start-up, naming what moved, if the WebSocket hand-off cannot work
    app = web.Application(
        # Two layers: each is a coroutine per request and a held frame per open live stream.
        # The error middleware also adds security headers and answers CORS preflights.
        middlewares=[request_log_middleware, error_middleware],
        client_max_size=settings.max_body_bytes,
    )
    hub = Hub()
    app[SETTINGS_KEY] = settings
    app[HUB_KEY] = hub
    app[SERVICE_KEY] = service = ScoreService(make_store(settings), hub, settings.snapshot_events)
    # "N watching": each match's fans over every instance, counted every watching_interval.
    app[WATCHING_KEY] = watching = WatchingCounter(hub, make_presence(settings), settings.watching_interval)
    service.watching = watching.count
    app[KEYRING_KEY] = KeyRing(settings.scorekeeper_keys)
    app[CONNECTIONS_KEY] = ConnectionRegistry()
    app[HANDSHAKES_KEY] = HandshakeAdmission(settings.max_handshakes)  # live connections opening at once
    app[HEARTBEAT_KEY] = heartbeat = Heartbeat(settings.ws_ping_interval)
    # Client mistakes (bad requests, bad live messages) are logged once per client per minute.
    app[CLIENT_ERRORS_KEY] = CLIENT_ERRORS
    quiet_parser_errors()
    app.add_routes(matches.routes)  # before any other route under /api/matches (see matches.py)
    setup_security(app, settings)
    app.add_routes(ws.routes)
    app.add_routes(sse.routes)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    setup_metrics(app)
    setup_pages(app)
    setup_api_docs(app)
    app.cleanup_ctx.append(_service_lifetime)
    setup_notify(app)  # after the store's lifetime: the notifier reads the log at start
    app.cleanup_ctx.append(heartbeat_lifetime(heartbeat))
    app.cleanup_ctx.append(_watching_lifetime)
    app.on_shutdown.append(close_live_connections)
    app.on_response_prepare.append(add_cors_headers)
    # Where the listener (listener.py) offers each new connection's first read: /ws fans open there.
    app[FRONT_DOOR_KEY] = LiveFrontDoor(app)
    return app


async def _service_lifetime(app: web.Application):  # type: ignore[no-untyped-def]
    service = app[SERVICE_KEY]
    await service.start()
    # Idle matches' in-memory state is let go in the background (ScoreService.sweep).
    sweeper = asyncio.ensure_future(service.run_sweeper(app[SETTINGS_KEY].match_idle_seconds / 2))
    yield
    sweeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweeper
    await service.stop()


async def _watching_lifetime(app: web.Application):  # type: ignore[no-untyped-def]
    counter = app[WATCHING_KEY]
    await counter.start()
    yield
    await counter.stop()


async def close_live_connections(app: web.Application) -> None:
    """Tell every live client to reconnect; idempotent (closed connections leave the registry)."""
    code = app[CONNECTIONS_KEY].close_code
    reason = "server restarting: reconnect" if code == CloseCode.SERVICE_RESTART else "server going away"
    await app[CONNECTIONS_KEY].close_all(code, reason)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers. Readiness is /readyz."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ready = await request.app[SERVICE_KEY].store.ready()
    return web.json_response({"ready": ready}, status=200 if ready else 503)
