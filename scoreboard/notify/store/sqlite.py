"""The notify store on SQLite: a file of its own beside the event store's (store/__init__.py).

Push subscriptions are also mirrored in memory, indexed by match and by team: the process
that opens the file is its only writer (the embedded default is one process), so the mirror
cannot go stale, and finding the 20,000 fans of a goal costs no I/O at all.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..models import PushSubscription, QueuedDelivery, WebhookEndpoint, team_key
from .base import ATTEMPTS_KEPT, Expired, SubscriptionCaps
from .sqlite_thread import SqliteThread

SCHEMA = """
CREATE TABLE IF NOT EXISTS notify_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS push_subscriptions (
    id TEXT PRIMARY KEY, endpoint TEXT NOT NULL UNIQUE, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_endpoints (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_queue (
    pos INTEGER PRIMARY KEY AUTOINCREMENT, endpoint_id TEXT NOT NULL, match_id TEXT NOT NULL,
    seq INTEGER NOT NULL, record TEXT NOT NULL, UNIQUE (endpoint_id, match_id, seq)
);
CREATE INDEX IF NOT EXISTS webhook_queue_by_endpoint ON webhook_queue (endpoint_id, pos);
CREATE TABLE IF NOT EXISTS webhook_attempts (
    n INTEGER PRIMARY KEY AUTOINCREMENT, endpoint_id TEXT NOT NULL, record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, n);
-- endpoint, match -> newest seq ever queued: an event handled again after a restart is not
-- queued again, even when its first copy was delivered and left the queue long ago.
CREATE TABLE IF NOT EXISTS webhook_marks (
    endpoint_id TEXT NOT NULL, match_id TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, match_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS notify_cursor (match_id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
"""


class SqliteNotifyStore:
    """NotifyStore on SQLite, plus the per-match cursor the SQLite feed keeps (feed.py)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = SqliteThread(path, SCHEMA)
        self._subscriptions: dict[str, PushSubscription] = {}
        self._by_match: dict[str, set[str]] = {}  # match id -> ids of subscriptions naming it
        self._by_team: dict[str, set[str]] = {}  # team_key -> ids of subscriptions following it
        self._by_endpoint: dict[str, str] = {}  # endpoint URL -> id of its subscription
        self._per_client: dict[str, int] = {}  # client hash -> subscriptions made from there
        # Subscriptions admitted under the caps whose write is under way: counted, so that
        # requests awaiting the same commit cannot all take the last free place.
        self._admitting: dict[str, int] = {}  # client hash -> admitted, not yet indexed

    def __repr__(self) -> str:
        return f"sqlite {self.path}"

    async def open(self) -> None:
        await self._db.open()
        rows = await self._db.read(lambda c: c.execute("SELECT record FROM push_subscriptions").fetchall())
        for (record,) in rows:
            self._index(PushSubscription.from_json(record))

    async def close(self) -> None:
        await self._db.close()

    async def vapid_key(self, make: Callable[[], str]) -> tuple[str, bool]:
        candidate = make()

        def run(conn: sqlite3.Connection) -> tuple[str, bool]:
            row = conn.execute("SELECT value FROM notify_meta WHERE key = 'vapid_private_key'").fetchone()
            if row:
                return row[0], False
            conn.execute("INSERT INTO notify_meta VALUES ('vapid_private_key', ?)", (candidate,))
            return candidate, True

        result: tuple[str, bool] = await self._db.write(run)
        return result

    # -- push subscriptions ------------------------------------------------------------------

    async def put_subscription(self, subscription: PushSubscription, caps: SubscriptionCaps | None = None) -> None:
        admitted = caps is not None and self._admit(subscription, caps)

        def run(conn: sqlite3.Connection) -> list[str]:
            gone = [row[0] for row in conn.execute(
                "SELECT id FROM push_subscriptions WHERE endpoint = ? AND id != ?",
                (subscription.endpoint, subscription.id),
            )]
            conn.execute("DELETE FROM push_subscriptions WHERE endpoint = ? AND id != ?",
                         (subscription.endpoint, subscription.id))
            conn.execute("INSERT OR REPLACE INTO push_subscriptions VALUES (?,?,?)",
                         (subscription.id, subscription.endpoint, subscription.to_json()))
            return gone

        try:
            superseded = await self._db.write(run)
        finally:
            if admitted:
                _decrement(self._admitting, subscription.client)
        for old in superseded:
            self._unindex(old)
        self._unindex(subscription.id)
        self._index(subscription)

    def _admit(self, subscription: PushSubscription, caps: SubscriptionCaps) -> bool:
        """Check the caps and hold a place (no await between the two); False when the
        subscription replaces one and so needs no place."""
        if subscription.id in self._subscriptions or subscription.endpoint in self._by_endpoint:
            return False
        client = subscription.client
        caps.check(len(self._subscriptions) + sum(self._admitting.values()),
                   self._per_client.get(client, 0) + self._admitting.get(client, 0), client)
        self._admitting[client] = self._admitting.get(client, 0) + 1
        return True

    async def get_subscription(self, subscription_id: str) -> PushSubscription | None:
        return self._subscriptions.get(subscription_id)

    async def delete_subscriptions(self, subscription_ids: Iterable[str]) -> int:
        ids = [(i,) for i in set(subscription_ids)]
        if not ids:
            return 0
        await self._db.write(lambda c: c.executemany("DELETE FROM push_subscriptions WHERE id = ?", ids))
        return sum(self._unindex(i) for (i,) in ids)

    async def delete_gone(self, gone: Iterable[tuple[str, str]]) -> int:
        still = [sub_id for sub_id, endpoint in gone
                 if (found := self._subscriptions.get(sub_id)) is not None and found.endpoint == endpoint]
        if not still:
            return 0
        # Only the rows that still have that endpoint: the mirror and the file agree on it.
        pairs = [(sub_id, self._subscriptions[sub_id].endpoint) for sub_id in still]
        await self._db.write(lambda c: c.executemany(
            "DELETE FROM push_subscriptions WHERE id = ? AND endpoint = ?", pairs))
        return sum(self._unindex(sub_id) for sub_id, endpoint in pairs
                   if (found := self._subscriptions.get(sub_id)) is not None and found.endpoint == endpoint)

    async def subscriptions_for(
        self, match_id: str, home: str, away: str, private: bool, kind: str,
    ) -> list[PushSubscription]:
        ids = set(self._by_match.get(match_id, ()))
        if not private:
            ids |= self._by_team.get(team_key(home), set()) | self._by_team.get(team_key(away), set())
        found = (self._subscriptions[i] for i in ids if i in self._subscriptions)
        return [s for s in found if s.wants(match_id, home, away, private, kind)]

    async def count_subscriptions(self) -> int:
        return len(self._subscriptions)

    async def count_for_client(self, client: str) -> int:
        return self._per_client.get(client, 0)

    def _index(self, subscription: PushSubscription) -> None:
        self._subscriptions[subscription.id] = subscription
        self._by_endpoint[subscription.endpoint] = subscription.id
        if subscription.client:
            self._per_client[subscription.client] = self._per_client.get(subscription.client, 0) + 1
        for match_id in subscription.matches:
            self._by_match.setdefault(match_id, set()).add(subscription.id)
        for team in subscription.teams:
            self._by_team.setdefault(team_key(team), set()).add(subscription.id)

    def _unindex(self, subscription_id: str) -> bool:
        subscription = self._subscriptions.pop(subscription_id, None)
        if subscription is None:
            return False
        if self._by_endpoint.get(subscription.endpoint) == subscription_id:
            del self._by_endpoint[subscription.endpoint]
        if subscription.client:
            _decrement(self._per_client, subscription.client)
        for match_id in subscription.matches:
            _discard(self._by_match, match_id, subscription_id)
        for team in subscription.teams:
            _discard(self._by_team, team_key(team), subscription_id)
        return True

    # -- webhook endpoints -------------------------------------------------------------------

    async def put_endpoint(self, endpoint: WebhookEndpoint) -> None:
        await self._db.write(lambda c: c.execute(
            "INSERT OR REPLACE INTO webhook_endpoints VALUES (?,?)", (endpoint.id, endpoint.to_json())))

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        row = await self._db.read(lambda c: c.execute(
            "SELECT record FROM webhook_endpoints WHERE id = ?", (endpoint_id,)).fetchone())
        return WebhookEndpoint.from_json(row[0]) if row else None

    async def update_endpoint(
        self, endpoint_id: str, change: Callable[[WebhookEndpoint], WebhookEndpoint],
    ) -> WebhookEndpoint | None:
        def run(conn: sqlite3.Connection) -> WebhookEndpoint | None:
            row = conn.execute("SELECT record FROM webhook_endpoints WHERE id = ?", (endpoint_id,)).fetchone()
            if row is None:
                return None
            updated = change(WebhookEndpoint.from_json(row[0]))
            conn.execute("UPDATE webhook_endpoints SET record = ? WHERE id = ?", (updated.to_json(), endpoint_id))
            return updated

        result: WebhookEndpoint | None = await self._db.write(run)
        return result

    async def list_endpoints(self) -> list[WebhookEndpoint]:
        rows = await self._db.read(lambda c: c.execute("SELECT record FROM webhook_endpoints").fetchall())
        endpoints = [WebhookEndpoint.from_json(r[0]) for r in rows]
        return sorted(endpoints, key=lambda e: (e.created_at, e.id))

    async def delete_endpoint(self, endpoint_id: str) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            deleted = conn.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,)).rowcount
            conn.execute("DELETE FROM webhook_queue WHERE endpoint_id = ?", (endpoint_id,))
            conn.execute("DELETE FROM webhook_attempts WHERE endpoint_id = ?", (endpoint_id,))
            conn.execute("DELETE FROM webhook_marks WHERE endpoint_id = ?", (endpoint_id,))
            return bool(deleted)

        result: bool = await self._db.write(run)
        return result

    # -- webhook queues ----------------------------------------------------------------------

    async def enqueue(self, deliveries: list[QueuedDelivery]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            for d in deliveries:
                mark = conn.execute("SELECT seq FROM webhook_marks WHERE endpoint_id = ? AND match_id = ?",
                                    (d.endpoint_id, d.match_id)).fetchone()
                if mark is not None and mark[0] >= d.seq:
                    continue  # queued before (the feed handled this event again after a restart)
                conn.execute("INSERT OR REPLACE INTO webhook_marks VALUES (?,?,?)", (d.endpoint_id, d.match_id, d.seq))
                conn.execute("INSERT OR IGNORE INTO webhook_queue (endpoint_id, match_id, seq, record) "
                             "VALUES (?,?,?,?)", (d.endpoint_id, d.match_id, d.seq, d.to_json()))

        await self._db.write(run)

    async def queue_head(self, endpoint_id: str) -> QueuedDelivery | None:
        row = await self._db.read(lambda c: c.execute(
            "SELECT record FROM webhook_queue WHERE endpoint_id = ? ORDER BY pos LIMIT 1", (endpoint_id,),
        ).fetchone())
        return QueuedDelivery.from_json(row[0]) if row else None

    async def queue_pop(self, delivery: QueuedDelivery) -> None:
        await self._db.write(lambda c: c.execute(
            "DELETE FROM webhook_queue WHERE endpoint_id = ? AND match_id = ? AND seq = ?",
            (delivery.endpoint_id, delivery.match_id, delivery.seq)))

    async def queue_retry(self, delivery: QueuedDelivery) -> None:
        await self._db.write(lambda c: c.execute(
            "UPDATE webhook_queue SET record = ? WHERE endpoint_id = ? AND match_id = ? AND seq = ?",
            (delivery.to_json(), delivery.endpoint_id, delivery.match_id, delivery.seq)))

    async def queue_clear(self, endpoint_id: str) -> None:
        await self._db.write(lambda c: c.execute("DELETE FROM webhook_queue WHERE endpoint_id = ?", (endpoint_id,)))

    async def queue_expire(self, endpoint_id: str, before: float) -> Expired:
        def run(conn: sqlite3.Connection) -> Expired:
            where = "endpoint_id = ? AND json_extract(record, '$.first_at') < ?"
            count, first, last = conn.execute(
                f"SELECT count(*), min(pos), max(pos) FROM webhook_queue WHERE {where}", (endpoint_id, before),
            ).fetchone()
            if not count:
                return Expired()
            ends = dict(conn.execute("SELECT pos, record FROM webhook_queue WHERE pos IN (?, ?)", (first, last)))
            conn.execute(f"DELETE FROM webhook_queue WHERE {where}", (endpoint_id, before))
            return Expired(count, QueuedDelivery.from_json(ends[first]), QueuedDelivery.from_json(ends[last]))

        result: Expired = await self._db.write(run)
        return result

    async def queue_length(self, endpoint_id: str) -> int:
        row = await self._db.read(lambda c: c.execute(
            "SELECT count(*) FROM webhook_queue WHERE endpoint_id = ?", (endpoint_id,)).fetchone())
        return int(row[0])

    async def endpoints_with_queue(self) -> list[str]:
        rows = await self._db.read(lambda c: c.execute("SELECT DISTINCT endpoint_id FROM webhook_queue").fetchall())
        return [r[0] for r in rows]

    async def add_attempt(self, endpoint_id: str, attempt: dict[str, Any]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO webhook_attempts (endpoint_id, record) VALUES (?,?)",
                         (endpoint_id, json.dumps(attempt)))
            conn.execute(
                "DELETE FROM webhook_attempts WHERE endpoint_id = ? AND n <= "
                "(SELECT n FROM webhook_attempts WHERE endpoint_id = ? ORDER BY n DESC LIMIT 1 OFFSET ?)",
                (endpoint_id, endpoint_id, ATTEMPTS_KEPT))

        await self._db.write(run)

    async def attempts(self, endpoint_id: str, limit: int = ATTEMPTS_KEPT) -> list[dict[str, Any]]:
        rows = await self._db.read(lambda c: c.execute(
            "SELECT record FROM webhook_attempts WHERE endpoint_id = ? ORDER BY n DESC LIMIT ?",
            (endpoint_id, limit)).fetchall())
        return [json.loads(r[0]) for r in rows]

    # -- the SQLite feed's cursor ------------------------------------------------------------

    async def cursors(self) -> dict[str, int] | None:
        """match id -> last seq handled; None before the first start (nothing was tracked yet)."""
        def run(conn: sqlite3.Connection) -> dict[str, int] | None:
            if not conn.execute("SELECT 1 FROM notify_meta WHERE key = 'cursor_since'").fetchone():
                return None
            return {m: s for m, s in conn.execute("SELECT match_id, seq FROM notify_cursor")}

        result: dict[str, int] | None = await self._db.read(run)
        return result

    async def start_cursors(self, positions: dict[str, int]) -> None:
        """First start: every event already in the log counts as handled (not news any more)."""
        def run(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT OR REPLACE INTO notify_cursor VALUES (?,?)", positions.items())
            conn.execute("INSERT OR REPLACE INTO notify_meta VALUES ('cursor_since', ?)", (str(time.time()),))

        await self._db.write(run)

    async def save_cursors(self, positions: dict[str, int]) -> None:
        rows = list(positions.items())
        await self._db.write(lambda c: c.executemany(
            "INSERT INTO notify_cursor VALUES (?,?) ON CONFLICT(match_id) DO UPDATE SET seq = max(seq, excluded.seq)",
            rows))


def _discard(index: dict[str, set[str]], key: str, value: str) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(value)
        if not members:
            del index[key]


def _decrement(counts: dict[str, int], key: str) -> None:
    left = counts.get(key, 0) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)
