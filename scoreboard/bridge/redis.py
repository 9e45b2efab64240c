"""Cross-instance fan-out: every instance follows one Redis stream of commits.

Why a stream and not pub/sub: pub/sub forgets whatever is published while a listener is
disconnected, which is the lost-message complaint about the usual Redis bridges. A stream
keeps its entries, so a follower remembers the id of the last entry it handled and, after a
blip, reads on from exactly there: nothing missed, nothing twice, in commit order.

The follower knows nothing of matches: it hands each entry's fields to `on_entry`, and the
store that wrote the entries decodes them (see `scoreboard.store.redis`).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger(__name__)
# What XREAD answers with decoded replies: [(stream, [(entry id, {field: value})])], or None.
StreamReply = list[tuple[str, list[tuple[str, dict[str, str]]]]] | None

# on_entry(entry_id, fields): runs on the loop, must not block; called once per entry, in order.
EntryHandler = Callable[[str, dict[str, str]], None]

START_OF_STREAM = "0-0"
STOP_TIMEOUT = 2.0


def backoff_delay(failures: int, base: float = 0.05, cap: float = 2.0) -> float:
    """Capped exponential backoff with jitter, so instances do not reconnect in lockstep."""
    ceiling = min(cap, base * 2 ** min(failures, 16))
    return random.uniform(ceiling / 2, ceiling)


class StreamFollower:
    """Reads `stream` from the entry after `last_id` for as long as it runs.

    It begins at the stream's end as it is when `pin_start()` first reaches Redis (entries
    older than this instance are in the store's log, not news). Reconnects with backoff on
    any Redis failure and resumes after the last entry handled.
    """

    def __init__(
        self, client: Redis, stream: str, on_entry: EntryHandler, *,
        block_ms: int = 1000, batch: int = 500,
    ) -> None:
        self._client = client
        self._stream = stream
        self._on_entry = on_entry
        self._block_ms = block_ms
        # Entries taken per XREAD: bounds how long one batch holds the loop.
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self.last_id: str | None = None
        self.connected = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"follow {self._stream}")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        # Bounded: a shutdown must not wait on a socket that a dying Redis left half-open.
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await asyncio.wait_for(self._task, STOP_TIMEOUT)
        self._task = None
        self.connected = False

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                if self.last_id is None:
                    await self.pin_start()
                else:
                    await self._check_not_trimmed()
                await self._follow()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                # redis-py raises its own ConnectionError/TimeoutError; OSError covers TLS and
                # socket errors that slip through while connecting.
                if self.connected or failures == 0:
                    log.warning("lost Redis stream %s after %s: %s; reconnecting",
                                self._stream, self.last_id, exc)
            except Exception:
                log.exception("stream follower of %s failed; restarting it", self._stream)
            self.connected = False
            await asyncio.sleep(backoff_delay(failures))
            failures += 1

    async def _follow(self) -> None:
        while True:
            assert self.last_id is not None
            reply: StreamReply = await self._client.xread(  # type: ignore[assignment]
                {self._stream: self.last_id}, count=self._batch, block=self._block_ms,
            )
            if not self.connected:
                log.info("following Redis stream %s after %s", self._stream, self.last_id)
                self.connected = True
            for _stream, entries in reply or ():
                for entry_id, fields in entries:
                    try:
                        self._on_entry(entry_id, fields)
                    except Exception:
                        log.exception("handling stream entry %s failed; skipping it", entry_id)
                    self.last_id = entry_id

    async def pin_start(self) -> None:
        """Start after the newest entry ever added ('$' pinned, so a reconnect cannot skip)."""
        try:
            info = await self._client.xinfo_stream(self._stream)
        except ResponseError:  # no such key: nothing was ever committed
            self.last_id = START_OF_STREAM
        else:
            self.last_id = str(info["last-generated-id"])

    async def _check_not_trimmed(self) -> None:
        """Warn when MAXLEN trimmed entries this instance had not read yet (a very long outage)."""
        try:
            info = await self._client.xinfo_stream(self._stream)
        except ResponseError:
            return
        deleted = info.get("max-deleted-entry-id")
        if deleted and _id_after(str(deleted), self.last_id or START_OF_STREAM):
            log.warning(
                "Redis stream %s was trimmed past %s while this instance was away: its live fans "
                "get the events it never read from the store, when the next event of each "
                "match shows the gap (web/live/session.py)",
                self._stream, self.last_id,
            )


def _id_after(left: str, right: str) -> bool:
    """Whether stream id `left` comes after `right` ('<ms>-<n>' compared as numbers)."""
    def key(entry_id: str) -> tuple[int, int]:
        ms, _, n = entry_id.partition("-")
        return int(ms), int(n or 0)

    return key(left) > key(right)
