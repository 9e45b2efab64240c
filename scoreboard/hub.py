"""In-process fan-out: match id -> subscribers.

The publisher never waits for a subscriber: `publish` hands the one pre-serialized frame to
every subscriber's `deliver`, which must not block. Each subscriber bounds its own backlog
(web/live/session.py): one that cannot keep up is cut off rather than slowing the publisher or
the other fans, and resumes from its last seq.

The direct lane: a WebSocket subscriber that is up to date on a match (it has had every frame
up to the last one published, nothing of its own is waiting) is kept with its socket, and
`publish` writes the event's one pre-built frame to each such socket in one tight loop: no
call into the subscriber, no per-fan bookkeeping, just the `send()` per fan that is the floor.
A fan whose socket backs up leaves the lane (`left_direct`) and gets the frame through its
own bounded queue, in order; it comes back once it has caught up (`go_direct`).
"""
from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from .frames import Frame

WILDCARD = "*"
# Bytes that may wait in a fan's socket write buffer before frames for it are queued as shared
# Frame objects instead (the kernel's own buffer is full by then); see web/live/session.py.
WRITE_HIGH_WATER = 16 * 1024


def websocket_bytes(frame: Frame) -> bytes:
    """`frame.text` as one whole RFC 6455 text frame from a server (unmasked, uncompressed),
    built on first use and kept on the frame, so every fan gets the same bytes."""
    wire = frame.wire
    if wire is None:
        wire = websocket_text_frame(frame.text.encode())
        object.__setattr__(frame, "wire", wire)  # frozen: a cache, not a change of value
    return wire


def websocket_text_frame(payload: bytes) -> bytes:
    """FIN + text opcode, no RSV bits (no extension is negotiated), no mask (server side)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


class Subscriber(Protocol):
    def deliver(self, frame: Frame) -> None:
        """Take a frame without blocking or raising; called once per frame, in seq order."""

    def left_direct(self, match_id: str, seq: int) -> None:
        """Back from the direct lane of `match_id`, having had every frame up to `seq`."""

    def resync(self, match_id: str, seq: int) -> None:
        """Frame `seq` of `match_id` will never come (it could not be built): fetch what was
        missed from the store before any later frame. Must not block or raise."""

    def send_notice(self, notice: Frame) -> None:
        """Take a message that is no event of the log (seq 0, e.g. how many watch): it moves
        no cursor and may be dropped for a fan that is behind. Must not block or raise."""


class Socket(Protocol):
    """What the direct lane needs of a transport (asyncio's and uvloop's have all three)."""

    def get_write_buffer_size(self) -> int: ...

    def write(self, data: bytes) -> None: ...

    def get_extra_info(self, name: str, default: Any = None) -> Any: ...


def _raw_fd(socket: Socket) -> int:
    """The file descriptor under a plain TCP transport, or -1 (TLS, or not a real socket)."""
    if socket.get_extra_info("sslcontext") is not None:
        return -1  # bytes must go through the TLS layer
    raw = socket.get_extra_info("socket")
    return raw.fileno() if raw is not None else -1


class Hub:
    """Topics are match ids; WILDCARD subscribers get every match."""

    def __init__(self) -> None:
        self._topics: dict[str, set[Subscriber]] = {}  # match id (or "*") -> subscribers
        # match id -> the direct lane: each fan's transport and the file descriptor under it
        self._direct: dict[str, dict[Subscriber, tuple[Socket, int]]] = {}
        self._last_seq: dict[str, int] = {}  # match id -> seq of the last frame published
        self.deliveries = 0
        # Called once per frame with the seconds the direct lane took to write it to every fan
        # (metrics: publish-to-send time), rather than timing each of thousands of writes.
        self.on_direct_sent: Callable[[float], None] | None = None

    def subscribe(self, subscriber: Subscriber, match_ids: Iterable[str]) -> None:
        for match_id in match_ids:
            self._topics.setdefault(match_id, set()).add(subscriber)

    def unsubscribe(self, subscriber: Subscriber, match_ids: Iterable[str]) -> None:
        for match_id in match_ids:
            subscribers = self._topics.get(match_id)
            if subscribers is not None:
                subscribers.discard(subscriber)
                if not subscribers:
                    del self._topics[match_id]
            direct = self._direct.get(match_id)
            if direct is not None:
                direct.pop(subscriber, None)
                if not direct:
                    del self._direct[match_id]

    def go_direct(self, subscriber: Subscriber, match_id: str, seq: int, socket: Socket) -> bool:
        """Move a subscriber of `match_id` that has had every frame up to `seq` to the direct
        lane; refused (False) unless `seq` is the last frame published for that match."""
        if self._last_seq.get(match_id) != seq:
            return False
        subscribers = self._topics.get(match_id)
        if subscribers is None or subscriber not in subscribers:
            return False
        subscribers.discard(subscriber)
        if not subscribers:
            del self._topics[match_id]
        self._direct.setdefault(match_id, {})[subscriber] = (socket, _raw_fd(socket))
        return True

    def leave_direct(self, subscriber: Subscriber, match_ids: Iterable[str]) -> None:
        """Back to `deliver` for these matches (e.g. the subscriber now also follows "*")."""
        for match_id in match_ids:
            direct = self._direct.get(match_id)
            if direct is not None and subscriber in direct:
                self._demote(match_id, direct, subscriber)

    def publish(self, frame: Frame) -> int:
        """Hand `frame` to the match's and the wildcard subscribers; returns how many."""
        match_id = frame.match_id
        # Who gets it through deliver(): as they are now, before the direct lane may add some.
        subscribers = self._topics.get(match_id)
        queued = tuple(subscribers) if subscribers else ()
        everything = self._topics.get(WILDCARD)
        wildcard = tuple(everything) if everything else ()
        count = len(queued) + len(wildcard)
        previous = self._last_seq.get(match_id, 0)
        if frame.seq > previous:  # a frame seen before (a replayed commit) is not sent twice
            self._last_seq[match_id] = frame.seq
            direct = self._direct.get(match_id)
            if direct and previous and frame.seq > previous + 1:
                # Frames never reached this instance (a trimmed Redis stream): every fan must
                # fetch them from the store first, which deliver() does. None is left out.
                for subscriber in tuple(direct):
                    self._demote(match_id, direct, subscriber, previous)
                    subscriber.deliver(frame)
                    count += 1
            elif direct:
                count += self._write_direct(frame, direct, previous)
        for subscriber in queued:
            subscriber.deliver(frame)
        for subscriber in wildcard:
            subscriber.deliver(frame)
        self.deliveries += count
        return count

    def resync(self, match_id: str, seq: int) -> None:
        """Frame `seq` of `match_id` was not published (it could not be built): every
        subscriber of the match, and every wildcard one, is told to fetch it from the store,
        so none skips it silently. Fans in the direct lane leave it first."""
        previous = self._last_seq.get(match_id, 0)
        if seq <= previous:
            return
        self._last_seq[match_id] = seq
        direct = self._direct.get(match_id)
        if direct:
            for subscriber in tuple(direct):
                self._demote(match_id, direct, subscriber, previous)
        for subscriber in (*self._topics.get(match_id, ()), *self._topics.get(WILDCARD, ())):
            subscriber.resync(match_id, seq)

    def _write_direct(self, frame: Frame, direct: dict[Subscriber, tuple[Socket, int]], previous: int) -> int:
        """One write per fan. While a fan's transport holds nothing back, the frame goes to its
        socket with a bare os.write (a third of the transport's own cost per call); otherwise,
        or if the kernel takes only part of it, the transport gets it (or the rest) after what
        it holds, so bytes stay in order. The fd stays valid while the fan is in the lane: a
        closing fan leaves the lane before its transport closes the socket."""
        started = time.perf_counter()
        wire = websocket_bytes(frame)
        size = len(wire)
        write = os.write
        backed_up: list[Subscriber] | None = None
        for subscriber, (socket, fd) in direct.items():
            try:
                waiting = socket.get_write_buffer_size()
                if not waiting and fd >= 0:
                    try:
                        sent = write(fd, wire)
                    except (BlockingIOError, InterruptedError):
                        sent = 0
                    if sent < size:
                        socket.write(wire[sent:])
                    continue
                if waiting <= WRITE_HIGH_WATER:
                    socket.write(wire)
                    continue
            except Exception:  # a socket already failing: its subscriber sorts it out
                pass
            if backed_up is None:
                backed_up = []
            backed_up.append(subscriber)
        count = len(direct)
        if backed_up is not None:
            for subscriber in backed_up:
                self._demote(frame.match_id, direct, subscriber, previous)
                subscriber.deliver(frame)
        if self.on_direct_sent is not None:
            self.on_direct_sent(time.perf_counter() - started)
        return count

    def _demote(self, match_id: str, direct: dict[Subscriber, tuple[Socket, int]], subscriber: Subscriber,
                seq: int | None = None) -> None:
        del direct[subscriber]
        if not direct:
            del self._direct[match_id]
        self._topics.setdefault(match_id, set()).add(subscriber)
        subscriber.left_direct(match_id, self._last_seq[match_id] if seq is None else seq)

    def forget(self, match_id: str) -> None:
        """Let go of the last seq published for a match nobody follows (a long uptime must not
        keep one per match ever played). A fan joining it later enters the direct lane after
        the next frame, as go_direct then has a seq to compare with."""
        if match_id not in self._topics and match_id not in self._direct:
            self._last_seq.pop(match_id, None)

    def subscriber_count(self, match_id: str | None = None) -> int:
        if match_id is not None:
            return len(self._topics.get(match_id, ())) + len(self._direct.get(match_id, ()))
        return sum(len(s) for s in self._topics.values()) + sum(len(d) for d in self._direct.values())

    def fan_counts(self) -> dict[str, int]:
        """Subscribers per match id, wildcard ones left out (a dashboard, not a fan of each)."""
        counts = {match_id: len(subscribers) for match_id, subscribers in self._topics.items()
                  if match_id != WILDCARD}
        for match_id, direct in self._direct.items():
            counts[match_id] = counts.get(match_id, 0) + len(direct)
        return counts

    def announce(self, notice: Frame) -> None:
        """Hand `notice` to each subscriber of its match (not the wildcard ones), once."""
        match_id = notice.match_id
        for subscriber in (*self._topics.get(match_id, ()), *self._direct.get(match_id, ())):
            subscriber.send_notice(notice)
