"""Typed application keys: everything handlers share, named and typed in one place."""
from __future__ import annotations

from aiohttp import web

from ..hub import Hub
from ..service import ScoreService
from ..settings import Settings
from .auth import KeyRing
from .connections import ConnectionRegistry

SETTINGS_KEY = web.AppKey("settings", Settings)
SERVICE_KEY = web.AppKey("service", ScoreService)
HUB_KEY = web.AppKey("hub", Hub)
KEYRING_KEY = web.AppKey("keyring", KeyRing)
CONNECTIONS_KEY = web.AppKey("connections", ConnectionRegistry)
