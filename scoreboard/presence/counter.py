"""The "N watching" count of each match, kept by one periodic task per process.

Every `interval` seconds it counts this process's fans per match (WebSocket and SSE
subscribers of that match; a wildcard subscriber is a dashboard, not a fan of each match),
exchanges them through the Presence for the other instances' fans, and keeps the totals:
what `count` answers (the API, the pages, snapshots) until the next round. A match whose
total changed since the last round gets `{"type": "watching", "match_id", "count"}` sent to
its fans here: so at most once per interval per match, and never when nothing changed. The
message has no seq: it is not an event of the log and moves no resume cursor.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

from ..frames import Frame, dumps
from ..hub import Hub
from .base import Presence, PresenceUnavailable

log = logging.getLogger(__name__)


def watching_notice(match_id: str, count: int) -> Frame:
    """The message, built once per match and round for every fan of the match."""
    return Frame(match_id, 0, dumps({"type": "watching", "match_id": match_id, "count": count}))


class WatchingCounter:
    def __init__(self, hub: Hub, presence: Presence, interval: float) -> None:
        self._hub = hub
        self._presence = presence
        self._interval = interval
        self._totals: dict[str, int] = {}  # match id -> fans over every instance (none at 0)
        self._task: asyncio.Task[None] | None = None
        self._degraded = False  # the last exchange failed: totals count this process only

    def count(self, match_id: str) -> int:
        """Fans of the match over every instance, as of the last round."""
        return self._totals.get(match_id, 0)

    async def start(self) -> None:
        await self._presence.open()
        self._task = asyncio.create_task(self._run(), name="watching counter")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._presence.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.update()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("counting the fans watching each match failed; trying again next round")

    async def update(self) -> None:
        """One round: count, exchange, keep the totals, tell the fans of what changed."""
        local = self._hub.fan_counts()
        try:
            others = await self._presence.exchange(local)
        except PresenceUnavailable as exc:
            if not self._degraded:
                log.warning("watching counts: the other instances' fans are unknown (%s); "
                            "counting this process's only until they are back", exc)
                self._degraded = True
            others = {}
        else:
            if self._degraded:
                log.info("watching counts: every instance's fans count again")
                self._degraded = False
        # Fans may have come or gone during the exchange: count this process's again.
        local = self._hub.fan_counts()
        totals = dict(others)
        for match_id, fans in local.items():
            if fans:
                totals[match_id] = totals.get(match_id, 0) + fans
        previous, self._totals = self._totals, totals
        for match_id in local:
            count = totals.get(match_id, 0)
            if count and count != previous.get(match_id, 0):
                self._hub.announce(watching_notice(match_id, count))
