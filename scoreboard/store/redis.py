"""The shared store: matches, logs and idempotency keys in Redis, so instances act as one.

Why this shape:
- Same rules as the embedded store: `domain.accept` decides, Redis only makes it atomic. An
  append WATCHes the match's key, reads the state and the events the batch refers to, runs
  `accept`, then writes events, ids, state and one stream entry in MULTI/EXEC. Any append in
  between (from any instance) changes the watched key, EXEC fails and we run the rules again:
  seqs are gap-free across instances and `expected_seq` conflicts are seen everywhere.
- Fan-out goes only through the stream (`bridge.redis.StreamFollower`), also for appends made
  here: one path means each instance hands each event to its listeners exactly once, in order.
- `append` returns once EXEC has returned: the events are in Redis, as durable as Redis's own
  persistence settings make them (see README, "Scaling out").
- Every Redis failure becomes StoreUnavailable (503 + Retry-After), with short socket
  timeouts so a dead Redis never hangs a request.

Keys (P = settings.redis_prefix):
  P match:<id>  hash: "match" -> Match JSON, "state" -> MatchState JSON (the watched key)
  P log:<id>    list: event JSON, index seq - 1
  P ids:<id>    hash: event id -> seq (idempotency and retract by id)
  P matches     set of match ids
  P stream      stream: one entry per append, {"commit": JSON of match, events, states}
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, WatchError

from ..bridge.redis import StreamFollower
from ..domain import (
    Acceptance, Event, EventDraft, Known, Match, MatchState, NeedsFullLog, accept, fold, references,
)
from ..errors import MatchExists, MatchNotFound, StoreUnavailable
from ..settings import Settings
from ..shared_calls import SharedCalls
from .base import Committed, CommitListener

log = logging.getLogger(__name__)

# Optimistic retries per append: local appenders to one match queue on a lock first, so only
# other instances compete; past this many lost races the caller gets a 503 to retry.
MAX_ATTEMPTS = 25
BRIDGE_BLOCK_MS = 1000


class RedisStore:
    """EventStore on Redis; see the module docstring for the design."""

    def __init__(
        self, url: str, *, prefix: str = "sb:", timeout: float = 2.0,
        stream_maxlen: int = 100_000, tls_insecure: bool = False, pool_size: int = 100,
    ) -> None:
        self._url = url
        self._pool_size = pool_size
        self._prefix = prefix
        self._timeout = timeout
        self._stream_maxlen = stream_maxlen
        self._tls_insecure = tls_insecure
        self._redis: Redis | None = None
        self._follower_client: Redis | None = None
        self._follower: StreamFollower | None = None
        self._listeners: list[CommitListener] = []
        self._locks: dict[str, _MatchLock] = {}  # match id -> local appenders queued on it
        self._gets: SharedCalls[str, tuple[Match, MatchState]] = SharedCalls(self._get_now)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisStore:
        return cls(
            settings.redis_url, prefix=settings.redis_prefix, timeout=settings.redis_timeout,
            stream_maxlen=settings.redis_stream_maxlen, tls_insecure=settings.redis_tls_insecure,
            pool_size=settings.redis_pool_size,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Start following the stream; a Redis that is down now only makes us degraded."""
        self._redis = self._client(self._timeout)
        # XREAD blocks up to BRIDGE_BLOCK_MS: its socket must wait longer than that.
        self._follower_client = self._client(self._timeout + BRIDGE_BLOCK_MS / 1000, pool_size=2)
        self._follower = StreamFollower(
            self._follower_client, self._key("stream"), self._on_stream_entry,
            block_ms=BRIDGE_BLOCK_MS,
        )
        try:
            # Pin where this instance starts before it serves: an append made here must come
            # after that point, or its own fans would never hear of it.
            await self._follower.pin_start()
        except (RedisError, OSError) as exc:
            log.warning("Redis is unreachable at start (%s): serving degraded until it is back", exc)
        self._follower.start()

    async def close(self) -> None:
        if self._follower is not None:
            await self._follower.stop()
            self._follower = None
        for client in (self._follower_client, self._redis):
            if client is not None:
                try:
                    await asyncio.wait_for(client.aclose(), self._timeout)
                except (RedisError, OSError, asyncio.TimeoutError) as exc:
                    log.warning("closing a Redis connection failed: %s", exc)
        self._follower_client = self._redis = None

    async def ready(self) -> bool:
        follower = self._follower
        if self._redis is None or follower is None or not follower.running or follower.last_id is None:
            return False
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    def add_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def forget(self, match_id: str) -> bool:
        """Nothing is held per match here but the lock of appends in flight (dropped after)."""
        return match_id not in self._locks

    # -- reads -------------------------------------------------------------------------------

    async def get(self, match_id: str) -> tuple[Match, MatchState]:
        """The match and its state; one HMGET for the reads of a match asked at once
        (shared_calls.py: a reconnect storm asks for one match thousands of times)."""
        return await self._gets(match_id)

    async def _get_now(self, match_id: str) -> tuple[Match, MatchState]:
        async with self._guard():
            raw_match, raw_state = await self._db().hmget(self._key("match", match_id), "match", "state")
        if raw_match is None:
            raise MatchNotFound(f"no match {match_id!r}")
        return Match.from_dict(json.loads(raw_match)), _state_from_json(raw_state)

    async def list_matches(self, status: str | None = None) -> list[tuple[Match, MatchState]]:
        async with self._guard():
            match_ids = sorted(await self._db().smembers(self._key("matches")))
            pipe = self._db().pipeline(transaction=False)
            for match_id in match_ids:
                pipe.hmget(self._key("match", match_id), "match", "state")
            rows = await pipe.execute()
        found = [
            (Match.from_dict(json.loads(raw_match)), _state_from_json(raw_state))
            for raw_match, raw_state in rows if raw_match is not None
        ]
        if status:
            found = [(match, state) for match, state in found if state.status == status]
        found.sort(key=lambda row: row[0].id)
        found.sort(key=lambda row: row[0].created_at, reverse=True)
        return found

    async def events_since(self, match_id: str, since: int, limit: int | None = None) -> list[Event]:
        start = max(0, since)
        end = -1 if limit is None else start + limit - 1
        if limit == 0:
            return []
        async with self._guard():
            raw_events = await self._db().lrange(self._key("log", match_id), start, end)
            if not raw_events and not await self._db().exists(self._key("match", match_id)):
                raise MatchNotFound(f"no match {match_id!r}")
        return [_event_from_json(raw) for raw in raw_events]

    async def tail(self, match_id: str, count: int) -> list[Event]:
        if count <= 0:
            return []
        async with self._guard():
            raw_events = await self._db().lrange(self._key("log", match_id), -count, -1)
        return [_event_from_json(raw) for raw in raw_events]

    # -- writes ------------------------------------------------------------------------------

    async def create_match(self, match: Match) -> Match:
        key = self._key("match", match.id)
        async with self._guard():
            pipe = self._db().pipeline(transaction=True)
            # HSETNX in one MULTI: the first creator wins, a second changes nothing.
            pipe.hsetnx(key, "match", json.dumps(match.to_dict()))
            pipe.hsetnx(key, "state", _state_to_json(MatchState()))
            pipe.sadd(self._key("matches"), match.id)
            created, _, _ = await pipe.execute()
        if not created:
            raise MatchExists(f"match {match.id!r} already exists")
        return match

    async def append(self, match_id: str, drafts: list[EventDraft]) -> Acceptance:
        # Server-made ids are chosen once, before any attempt: if EXEC went through but its
        # answer was lost, the next attempt sees these ids stored and repeats, not duplicates.
        drafts = [d if d.client_id else replace(d, client_id=f"srv-{uuid.uuid4().hex}") for d in drafts]
        async with self._lock(match_id), self._guard():
            for attempt in range(MAX_ATTEMPTS):
                try:
                    return await self._try_append(match_id, drafts)
                except WatchError:
                    await asyncio.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 5)))
        raise StoreUnavailable("too many writers on this match at once; retry")

    async def _try_append(self, match_id: str, drafts: list[EventDraft]) -> Acceptance:
        match_key = self._key("match", match_id)
        async with self._db().pipeline(transaction=True) as pipe:
            await pipe.watch(match_key)
            raw_match, raw_state = await pipe.hmget(match_key, "match", "state")
            if raw_match is None:
                raise MatchNotFound(f"no match {match_id!r}")
            match = Match.from_dict(json.loads(raw_match))
            profile = match.profile
            stored = json.loads(raw_state) if raw_state else None
            state = MatchState() if stored is None else _state_from_dict(stored)
            # The log and ids are append-only and every append rewrites the watched key, so
            # reading them now (on any connection) is consistent with `state` or EXEC fails.
            if stored is not None and not stored.get("v"):
                # Stored by an older version (no clock, no shootout): fold the log again.
                state = fold(await self._log(match_id, state.seq), profile)
            known = await self._known(match_id, drafts, state.seq)
            try:
                acceptance = accept(state, drafts, known, profile=profile)
            except NeedsFullLog:
                log_events = await self._log(match_id, state.seq)
                acceptance = accept(state, drafts, known, log=log_events, profile=profile)
            if not acceptance.created:
                await pipe.unwatch()
                return await self._repeat(match, acceptance)
            self._queue_commit(pipe, match, acceptance)
            await pipe.execute()
        return acceptance

    def _queue_commit(self, pipe: Pipeline, match: Match, acceptance: Acceptance) -> None:
        new_events = acceptance.new_events
        pipe.multi()
        pipe.rpush(self._key("log", match.id), *(json.dumps(e.to_dict()) for e in new_events))
        pipe.hset(self._key("ids", match.id), mapping={e.id: e.seq for e in new_events})
        pipe.hset(self._key("match", match.id), "state", _state_to_json(acceptance.state))
        commit = {
            "match": match.to_dict(),
            "events": [e.to_dict() for e in new_events],
            "after": [_state_to_dict(s) for s in acceptance.after],
        }
        pipe.xadd(
            self._key("stream"), {"commit": json.dumps(commit)},
            maxlen=self._stream_maxlen, approximate=True,
        )

    async def _known(self, match_id: str, drafts: Sequence[EventDraft], seq: int) -> Known:
        seqs, ids = references(drafts)
        if not seqs and not ids:
            return Known()
        id_list = sorted(ids)
        by_id_seq: dict[str, int] = {}
        if id_list:
            found = await self._db().hmget(self._key("ids", match_id), id_list)
            by_id_seq = {cid: int(s) for cid, s in zip(id_list, found) if s is not None}
        wanted = sorted({s for s in seqs | set(by_id_seq.values()) if 0 < s <= seq})
        events: dict[int, Event] = {}
        if wanted:
            pipe = self._db().pipeline(transaction=False)
            for wanted_seq in wanted:
                pipe.lindex(self._key("log", match_id), wanted_seq - 1)
            for raw in await pipe.execute():
                if raw is not None:
                    event = _event_from_json(raw)
                    events[event.seq] = event
        by_id = {cid: events[s] for cid, s in by_id_seq.items() if s in events}
        return Known(by_seq={s: e for s, e in events.items() if s in seqs}, by_id=by_id)

    async def _log(self, match_id: str, seq: int) -> list[Event]:
        raw_events = await self._db().lrange(self._key("log", match_id), 0, seq - 1)
        return [_event_from_json(raw) for raw in raw_events]

    async def _repeat(self, match: Match, acceptance: Acceptance) -> Acceptance:
        """A pure retry: the original events, with the score as of the last of them."""
        last = max(event.seq for event, _ in acceptance.results)
        return replace(acceptance, state=fold(await self._log(match.id, last), match.profile))

    # -- the stream --------------------------------------------------------------------------

    def _on_stream_entry(self, entry_id: str, fields: dict[str, str]) -> None:
        committed = committed_from_json(fields["commit"])
        for listener in self._listeners:
            try:
                listener(committed)
            except Exception:
                log.exception("commit listener failed for match %s (entry %s)",
                              committed.match.id, entry_id)

    # -- helpers -----------------------------------------------------------------------------

    def _client(self, socket_timeout: float, pool_size: int | None = None) -> Redis:
        """A client on its own pool of at most `pool_size` connections (default: the setting).

        The pool waits for a connection to come free, up to the command timeout, instead of
        raising at once when all are busy (redis-py's plain pool does, past 100): a deploy's
        reconnect storm asks for thousands of snapshots within seconds, and they should queue
        for a connection, not fail. Past the timeout the caller gets StoreUnavailable (a 503,
        or close 1013 on a live connection: try again shortly).
        """
        options: dict[str, Any] = {
            "max_connections": pool_size or self._pool_size,
            "timeout": self._timeout,  # the wait for a free connection
            "decode_responses": True,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": self._timeout,
            # One quick reconnect covers a pooled connection that died with a restarted Redis;
            # more would keep a request waiting on a Redis that is really down.
            "retry": Retry(NoBackoff(), 1),
        }
        if self._url.startswith("rediss://") and self._tls_insecure:
            options["ssl_cert_reqs"] = None  # hosted Redis offers a self-signed certificate
        return Redis.from_pool(BlockingConnectionPool.from_url(self._url, **options))

    def _db(self) -> Redis:
        if self._redis is None or self._follower is None:
            raise StoreUnavailable("the store is not open")
        if self._follower.last_id is None:
            # Started while Redis was down and not yet back: serving now could let a fan's
            # snapshot and the stream position disagree, so wait until the follower is placed.
            raise StoreUnavailable("the score store is not reachable yet; retry shortly")
        return self._redis

    def _key(self, *parts: str | bytes) -> str:
        # The client decodes replies, so ids read back from Redis are str; bytes only in theory.
        return self._prefix + ":".join(p.decode() if isinstance(p, bytes) else p for p in parts)

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """Turn any Redis failure into StoreUnavailable: the caller answers 503, nothing stored."""
        try:
            yield
        except WatchError:
            raise
        except (RedisError, OSError) as exc:
            # The follower logs the outage once; one line per refused request would flood.
            log.debug("Redis unavailable: %s", exc)
            raise StoreUnavailable("the score store is unreachable; retry shortly") from exc

    @contextlib.asynccontextmanager
    async def _lock(self, match_id: str) -> AsyncIterator[None]:
        lock = self._locks.get(match_id)
        if lock is None:
            lock = self._locks[match_id] = _MatchLock()
        lock.users += 1
        try:
            async with lock.lock:
                yield
        finally:
            lock.users -= 1
            if lock.users == 0:
                del self._locks[match_id]


class _MatchLock:
    """Serializes this instance's appends to one match; dropped when nobody waits on it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


def _state_to_dict(state: MatchState) -> dict[str, Any]:
    return state.to_record()


def _state_from_dict(data: dict[str, Any]) -> MatchState:
    return MatchState.from_record(data)


def _state_to_json(state: MatchState) -> str:
    return json.dumps(_state_to_dict(state))


def _state_from_json(raw: str | bytes | None) -> MatchState:
    return _state_from_dict(json.loads(raw)) if raw else MatchState()


def _event_from_json(raw: str | bytes) -> Event:
    return Event.from_dict(json.loads(raw))


def committed_from_json(raw: str) -> Committed:
    """A stream entry back into what the embedded store hands its listeners (also read by the
    notifier's consumer group, notify/feed_redis.py)."""
    data = json.loads(raw)
    events = [Event.from_dict(e) for e in data["events"]]
    after = [_state_from_dict(s) for s in data["after"]]
    acceptance = Acceptance(results=[(e, True) for e in events], state=after[-1], after=after)
    return Committed(Match.from_dict(data["match"]), acceptance)
