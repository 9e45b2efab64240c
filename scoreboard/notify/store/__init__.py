"""Where notifications keep their state; `make_notify_store` picks SQLite or Redis like the event store."""
from __future__ import annotations

from pathlib import Path

from ...settings import Settings
from .base import NotifyStore


def notify_db_path(db: str) -> str:
    """The notify tables' own SQLite file beside the event store's (`scoreboard.db` ->
    `scoreboard.notify.db`): its writes never wait on, or make wait, the event writer's lock."""
    if db == ":memory:":
        return db
    path = Path(db)
    return str(path.with_name(f"{path.stem}.notify{path.suffix or '.db'}"))


def make_notify_store(settings: Settings) -> NotifyStore:
    if settings.redis_url:
        from .redis import RedisNotifyStore

        return RedisNotifyStore.from_settings(settings)
    from .sqlite import SqliteNotifyStore

    return SqliteNotifyStore(notify_db_path(settings.db))
