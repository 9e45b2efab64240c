"""The Redis feed: a consumer group on the commit stream, read by one instance at a time.

Exactly one instance notifies: the holder of a lease key (SET NX PX, renewed every third of
its life by a script that checks it still holds it). The lease holder reads the group
`notify` with XREADGROUP and acknowledges (XACK) an entry once every event in it is handled:
its webhook deliveries queued in Redis and its pushes answered. A new leader first claims
(XAUTOCLAIM) every entry a previous leader read but did not acknowledge, so an instance that
dies mid-burst leaves nothing behind; some of those fans may get that push twice.

Why one reader and not the whole group sharing the work: entries of one match would then be
handled on several instances at once, and neither webhooks (seq order per match) nor pushes
(a stale score overtaking a newer one under the same Topic) could keep their order. One
sender process already does ~2,000+ pushes/s; more `push_processes` raise that on one host.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from ..bridge.redis import backoff_delay
from ..store.redis import committed_from_json
from .feed import FeedItem, Handler, Leading, items_of
from .store.redis import RedisNotifyStore

log = logging.getLogger(__name__)

GROUP = "notify"
RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisFeed:
    def __init__(self, store: RedisNotifyStore, stream: str, *, lease_ms: int = 10_000,
                 block_ms: int = 1000, batch: int = 100) -> None:
        self._store = store
        self._stream = stream
        self._lease_key = store.key("leader")
        self._lease_ms = lease_ms
        self._block_ms = block_ms
        self._batch = batch
        self.instance = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._client: Redis | None = None
        self.leading = False

    async def prepare(self) -> None:
        """Create the group at the stream's end, so events from now on wait for a leader."""
        try:
            await self._store.redis.xgroup_create(self._stream, GROUP, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, handler: Handler, leading: Leading) -> None:
        self._client = self._store.client(socket_timeout=self._block_ms / 1000 + 2.0)
        failures = 0
        try:
            while True:
                try:
                    await self.prepare()
                    if await self._store.redis.set(self._lease_key, self.instance, nx=True, px=self._lease_ms):
                        failures = 0
                        await self._lead(handler, leading)
                    else:
                        await asyncio.sleep(self._lease_ms / 3000)
                except asyncio.CancelledError:
                    raise
                except (RedisError, OSError) as exc:
                    log.warning("notifier lost Redis: %s; retrying", exc)
                    await asyncio.sleep(backoff_delay(failures))
                    failures += 1
        finally:
            await self._client.aclose()

    async def _lead(self, handler: Handler, leading: Leading) -> None:
        log.info("this instance (%s) now sends the notifications", self.instance)
        self.leading = True
        await leading(True)
        work = asyncio.create_task(self._consume(handler), name="notify consume")
        try:
            while not work.done():
                await asyncio.wait([work], timeout=self._lease_ms / 3000)
                if work.done():
                    break
                renewed = await self._store.redis.eval(RENEW, 1, self._lease_key, self.instance, self._lease_ms)
                if not renewed:
                    log.warning("notifier lease lost: another instance sends notifications now")
                    break
            if work.done():
                work.result()  # re-raise a Redis error from the reader
        finally:
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await work
            self.leading = False
            await leading(False)

    async def _consume(self, handler: Handler) -> None:
        assert self._client is not None
        start = "0-0"
        while True:  # first what earlier leaders read and never acknowledged
            reply: Any = await self._client.xautoclaim(self._stream, GROUP, self.instance, 0, start, count=self._batch)
            next_start, entries = reply[0], reply[1]
            for entry_id, fields in entries:
                if fields:
                    await self._handle(entry_id, fields, handler)
            if next_start in ("0-0", b"0-0"):
                break
            start = next_start
        while True:
            reply = await self._client.xreadgroup(
                GROUP, self.instance, {self._stream: ">"}, count=self._batch, block=self._block_ms,
            )
            for _stream, entries in reply or ():
                for entry_id, fields in entries:
                    await self._handle(entry_id, fields, handler)

    async def _handle(self, entry_id: str, fields: dict[str, str], handler: Handler) -> None:
        items = list(items_of(committed_from_json(fields["commit"])))
        left = len(items)

        def ack() -> None:
            nonlocal left
            left -= 1
            if left == 0:
                asyncio.ensure_future(self._xack(entry_id))

        if not items:
            await self._xack(entry_id)
        for match, event, state in items:
            item = FeedItem(match, event, state, ack)
            try:
                await handler(item)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                raise  # not acknowledged: the next read (or leader) handles it again
            except Exception:
                log.exception("notifying event %s of match %s failed; skipped", event.seq, match.id)
                ack()

    async def _xack(self, entry_id: str) -> None:
        try:
            await self._store.redis.xack(self._stream, GROUP, entry_id)
        except (RedisError, OSError) as exc:
            log.warning("acknowledging %s failed (it will be handled again): %s", entry_id, exc)

    async def close(self) -> None:
        """Give the lease up at once, so another instance takes over without waiting it out."""
        with contextlib.suppress(RedisError, OSError, RuntimeError):
            await self._store.redis.eval(RELEASE, 1, self._lease_key, self.instance)
