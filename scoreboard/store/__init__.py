"""Event stores; `make_store` picks one from the settings (Redis is imported only when used)."""
from __future__ import annotations

from ..settings import Settings
from .base import EventStore


def make_store(settings: Settings) -> EventStore:
    if settings.redis_url:
        from .redis import RedisStore

        return RedisStore.from_settings(settings)
    from .sqlite import SqliteStore

    return SqliteStore(settings.db)
