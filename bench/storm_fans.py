"""The fans of `bench/storm.py`: browser tabs running `static/live.js` on one match, and what they share.

A `Fan` outlives its connections (`FanConnection`, one per attempt): it keeps the cursor
live.js keeps, reconnects on live.js's schedule, and counts what arrives (per event its
receipt time, duplicates, out-of-order, gaps) so the storm can tell when each fan had
resumed and caught up. `Storm` holds the clock and the scorekeeper's events.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
from array import array
from collections import Counter

from wsclient import WsClient, event_seq, open_connection, perf, ws_request

# static/live.js
RESTART_MIN_S = 0.25
RESTART_SPREAD_S = 3.0
RESTART_RETRY_SPREAD_S = 1.0
RESTART_WINDOW_S = 30.0
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 10.0
RESTART_CODES = (1012, 1001, 1013)


def retry_delay(code: int, restarted_at: float, attempt: int, now: float) -> float:
    """live.js `retryDelay`: jittered after a restart close, soon again while the server is
    not back (within the restart window), else capped exponential backoff with full jitter."""
    if code in RESTART_CODES:
        return RESTART_MIN_S + random.random() * RESTART_SPREAD_S
    if restarted_at and now - restarted_at < RESTART_WINDOW_S:
        return RESTART_MIN_S + random.random() * RESTART_RETRY_SPREAD_S
    return random.random() * min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(attempt, 16))


class Storm:
    """The clock, the events and what every fan shares."""

    def __init__(self, args: argparse.Namespace, capacity: int) -> None:
        self.args = args
        self.capacity = capacity
        self.t0 = perf()
        self.first_seq = 0
        self.created = array("d", bytes(8 * capacity))  # event index -> perf() of its first POST attempt
        self.acked = array("d", bytes(8 * capacity))  # event index -> perf() of its 2xx
        self.count = 0  # events created so far
        self.acked_count = 0
        self.post_attempts = 0
        self.post_failures: Counter[str] = Counter()
        self.errors: list[str] = []
        self.unexpected = 0
        self.storming = False  # SIGTERM sent: a fan's next "subscribed" is its resume
        self.resumed = 0  # fans that have resumed since
        self.busy = 0  # handshakes answered 503 (admission cap), retried


class FanConnection(WsClient):
    """One connection of a fan; the fan outlives it."""

    def __init__(self, fan: Fan, request: bytes) -> None:
        super().__init__(request)
        self.fan = fan
        self.opened = False
        self.ended = False

    def on_open(self) -> None:
        self.opened = True

    def on_refused(self, status_line: str) -> None:
        # A 503 (the server admits so many handshakes at once) is a failed attempt to a browser,
        # retried on live.js's schedule (the close that follows); anything else is a fault.
        if " 503 " in status_line + " ":
            self.fan.storm.busy += 1
        else:
            self.fan.storm.errors.append(f"handshake: {status_line}")

    def on_message(self, payload: bytes, now: float) -> None:
        self.fan.message(payload, now)

    def on_close_frame(self, code: int) -> None:
        self._end(code)

    def on_lost(self, exc: Exception | None) -> None:
        self._end(1006)  # a browser's code for a connection that ended without a close frame

    def _end(self, code: int) -> None:
        if not self.ended:
            self.ended = True
            self.fan.lost(code, self.opened)


class Fan:
    """A browser tab running static/live.js on one match, reduced to what is counted."""

    __slots__ = ("storm", "source", "last_seq", "receipts", "received", "duplicates", "out_of_order", "gaps",
                 "attempt", "connections", "refused", "resumed_at", "needed", "resume_snapshots", "closes",
                 "subscribed", "connection", "restarted_at")

    def __init__(self, storm: Storm, source: str | None) -> None:
        self.storm = storm
        self.source = source
        self.last_seq = 0  # the cursor live.js keeps: last seq applied
        self.receipts = array("f", bytes(4 * storm.capacity))  # event index -> receipt time - t0 (0: not yet)
        self.received = 0
        self.duplicates = self.out_of_order = self.gaps = 0
        self.attempt = 0
        self.connections = 0  # attempts made
        self.refused = 0  # attempts that never opened
        self.resumed_at = 0.0  # perf() of the first "subscribed" after the SIGTERM
        self.needed = 0  # events created before that: the fan has caught up once it holds them all
        self.resume_snapshots = 0
        self.closes: Counter[int] = Counter()
        self.subscribed: asyncio.Future[None] | None = None  # the first connection's
        self.connection: FanConnection | None = None
        self.restarted_at = 0.0  # perf() of the last restart close, until a connection is useful again

    async def connect(self) -> None:
        storm = self.storm
        match_id = storm.args.match_id
        since = f"&since={match_id}:{self.last_seq}" if self.last_seq else ""
        connection = FanConnection(self, ws_request("127.0.0.1", storm.args.port, f"/ws?matches={match_id}{since}"))
        self.connection = connection
        self.connections += 1
        try:
            await open_connection(connection, "127.0.0.1", storm.args.port, self.source)
        except OSError:
            connection.ended = True
            self.lost(1006, False)

    def message(self, payload: bytes, now: float) -> None:
        seq = event_seq(payload)
        if seq is not None:
            self.attempt = 0
            self.restarted_at = 0.0
            self._event(seq, now)
            return
        message = json.loads(payload)
        kind = message.get("type")
        if kind == "subscribed":
            self.attempt = 0
            self.restarted_at = 0.0
            if self.subscribed is not None and not self.subscribed.done():
                self.subscribed.set_result(None)
            if self.storm.storming and not self.resumed_at:
                self.resumed_at = now
                self.needed = self.storm.count  # created before now (creation times only grow)
                self.storm.resumed += 1
        elif kind == "snapshot":
            self.attempt = 0
            self.restarted_at = 0.0
            # live.js takes the snapshot's seq as its cursor: what it skipped, it never showed
            # as events (counted as drops unless they arrive after all).
            if self.storm.storming:
                self.resume_snapshots += 1
            self.last_seq = max(self.last_seq, int(message["match"]["seq"]))
        elif kind == "error":
            self.storm.errors.append(f"server error message: {message}")

    def _event(self, seq: int, now: float) -> None:
        storm = self.storm
        index = seq - storm.first_seq
        if index < 0 or index >= storm.capacity:
            storm.unexpected += 1
            return
        if self.receipts[index]:
            self.duplicates += 1
            return
        if seq < self.last_seq:
            self.out_of_order += 1
        elif seq > self.last_seq + 1 and self.last_seq >= storm.first_seq:
            self.gaps += 1  # live.js would ask again; the server should never make it
        self.receipts[index] = max(now - storm.t0, 1e-6)
        self.received += 1
        self.last_seq = max(self.last_seq, seq)

    def lost(self, code: int, opened: bool) -> None:
        """live.js `_lost`: when to try again."""
        self.closes[code] += 1
        if not opened:
            self.refused += 1
        now = perf()
        if code in RESTART_CODES:
            self.restarted_at = now
        delay = retry_delay(code, self.restarted_at, self.attempt, now)
        self.attempt += 1
        if self.subscribed is not None and not self.subscribed.done():
            self.subscribed.set_result(None)  # the initial gathering must not wait for it
        asyncio.get_running_loop().call_later(delay, lambda: asyncio.ensure_future(self.connect()))

    def caught_up(self) -> bool:
        """Cheap and sufficient while nothing is lost: the latest event it needs has come."""
        return bool(self.resumed_at) and self.last_seq >= self.storm.first_seq + self.needed - 1

    def caught_up_at(self) -> float | None:
        """When this fan had resumed and held every event created before it resumed (perf())."""
        if not self.resumed_at:
            return None
        needed = self.receipts[: self.needed]
        if 0.0 in needed:
            return None
        return max(self.resumed_at, self.storm.t0 + max(needed, default=0.0))
