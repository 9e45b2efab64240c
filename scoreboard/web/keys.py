"""Typed application keys: everything handlers share, named and typed in one place."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..hub import Hub
from ..logs import ClientErrorLog
from ..presence import WatchingCounter
from ..service import ScoreService
from ..settings import Settings
from .security.auth import KeyRing
from .live.admission import HandshakeAdmission
from .live.connections import ConnectionRegistry
from .live.heartbeat import Heartbeat
from .security.limits import ClientConnections, ClientRateLimiter, IngestLimiter
from .security.tokens import ViewerTokens

if TYPE_CHECKING:  # front.py builds on these keys itself
    from .live.front import LiveFrontDoor

SETTINGS_KEY = web.AppKey("settings", Settings)
SERVICE_KEY = web.AppKey("service", ScoreService)
HUB_KEY = web.AppKey("hub", Hub)
KEYRING_KEY = web.AppKey("keyring", KeyRing)
CONNECTIONS_KEY = web.AppKey("connections", ConnectionRegistry)
HEARTBEAT_KEY = web.AppKey("heartbeat", Heartbeat)
TOKENS_KEY = web.AppKey("viewer_tokens", ViewerTokens)
CLIENT_CONNECTIONS_KEY = web.AppKey("client_connections", ClientConnections)
HANDSHAKES_KEY = web.AppKey("handshakes", HandshakeAdmission)
INGEST_LIMITER_KEY = web.AppKey("ingest_limiter", IngestLimiter)
PUSH_SUBSCRIBE_LIMITER_KEY = web.AppKey("push_subscribe_limiter", ClientRateLimiter)
CLIENT_ERRORS_KEY = web.AppKey("client_errors", ClientErrorLog)
WATCHING_KEY = web.AppKey("watching", WatchingCounter)
FRONT_DOOR_KEY: web.AppKey[LiveFrontDoor] = web.AppKey("front_door")
