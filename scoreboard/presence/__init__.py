"""How many fans watch each match ("N watching"), over every instance of the service.

- `base.Presence`: the one interface, where instances share their fans per match.
- `local.LocalPresence`: one process (the embedded default): no other instance to ask.
- `redis.RedisPresence`: Redis mode: each instance writes its own counts with a TTL and
  reads the others'; an instance that dies stops counting within the TTL.
- `counter.WatchingCounter`: the periodic task of each process that counts its hub's fans,
  exchanges them through a Presence, keeps the totals and tells each match's fans when its
  total changed.
"""
from __future__ import annotations

from ..settings import Settings
from .base import Presence, PresenceUnavailable
from .counter import WatchingCounter

__all__ = ["Presence", "PresenceUnavailable", "WatchingCounter", "make_presence"]


def make_presence(settings: Settings) -> Presence:
    """The Redis presence when the service runs on Redis, else the in-process one."""
    if settings.redis_url:
        from .redis import RedisPresence  # redis-py only where Redis is configured

        return RedisPresence.from_settings(settings)
    from .local import LocalPresence

    return LocalPresence()
