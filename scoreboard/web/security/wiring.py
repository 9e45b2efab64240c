"""Wiring of private matches and limits: token signer, per-client and per-key limiters, routes,
log redaction. Called once by create_app; the behaviour lives in viewer.py, limits.py, redact.py.
"""
from __future__ import annotations

import logging

from aiohttp import web

from ... import redact
from ...settings import Settings
from . import viewer
from .auth import parse_key
from ..keys import CLIENT_CONNECTIONS_KEY, INGEST_LIMITER_KEY, TOKENS_KEY
from .limits import ClientConnections, IngestLimiter
from .tokens import ViewerTokens, random_secret

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
    app[CLIENT_CONNECTIONS_KEY] = ClientConnections(settings.max_connections_per_client)
    app[INGEST_LIMITER_KEY] = IngestLimiter(settings.ingest_rate, settings.ingest_burst)
    app.add_routes(viewer.routes)
