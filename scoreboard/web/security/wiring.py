"""Wiring of private matches and limits: token signer, per-client and per-key limiters (the push
subscription API's rate per address among them), routes, log redaction. Called once by
create_app; the behaviour lives in viewer.py, limits.py, redact.py.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiohttp import web

from ... import redact
from ...settings import Settings
from . import viewer
from .auth import parse_key
from ..keys import CLIENT_CONNECTIONS_KEY, INGEST_LIMITER_KEY, PUSH_SUBSCRIBE_LIMITER_KEY, TOKENS_KEY
from .limits import ClientConnections, ClientRateLimiter, IngestLimiter
from .tokens import ViewerTokens, random_secret

if TYPE_CHECKING:
    from .shared_limits import SharedLimits

log = logging.getLogger(__name__)


def setup_security(app: web.Application, settings: Settings) -> None:
    secret = settings.secret
    if not secret:
        secret = random_secret()
        log.warning(
            "no SCOREBOARD_SECRET set: viewer tokens are signed with a random key made at this "
            "start; they stop working when the process restarts and are not accepted by other "
            "instances or workers. Set SCOREBOARD_SECRET (32+ bytes) to keep them valid."
        )
    redact.protect([secret, *(parse_key(entry).secret.decode() for entry in settings.api_keys)])
    app[TOKENS_KEY] = ViewerTokens(secret)
    shared = None
    if settings.redis_url and (settings.ingest_rate or settings.max_connections_per_client
                               or settings.push_subscribe_rate):
        # Several instances or workers: the limits hold for the whole service (shared_limits.py).
        from .shared_limits import SharedLimits

        shared = SharedLimits(settings)
        app.cleanup_ctx.append(_shared_limits_lifetime(shared))
    app[CLIENT_CONNECTIONS_KEY] = ClientConnections(settings.max_connections_per_client, shared)
    app[INGEST_LIMITER_KEY] = IngestLimiter(settings.ingest_rate, settings.ingest_burst, shared=shared)
    app[PUSH_SUBSCRIBE_LIMITER_KEY] = ClientRateLimiter(
        "push-subscribe", "push subscription requests", settings.push_subscribe_rate,
        settings.push_subscribe_burst, shared=shared,
    )
    app.add_routes(viewer.routes)


def _shared_limits_lifetime(shared: SharedLimits):  # type: ignore[no-untyped-def]
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        await shared.start()
        yield
        await shared.close()

    return lifetime
