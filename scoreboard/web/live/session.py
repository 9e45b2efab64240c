"""One fan's live session, whatever carries it (WebSocket or SSE).

Ordering guarantee: for each match a fan gets every event exactly once, in seq order,
across (re)subscriptions. How: subscribe to the hub *before* reading the catch-up, send the
catch-up under the send lock, then let live frames through only when their seq is past the
match's cursor. A frame that raced the catch-up is dropped as already sent; none can be missed.

Delivery without a coroutine hop, by one path with one cursor per match: the hub offers each
frame to `try_write`. For a WebSocket fan (`transport` set) with nothing queued, its cursor
right before the frame (a match whose catch-up is running has none yet) and its write buffer
under the high-water mark, the frame's shared pre-built bytes go to the transport at once and the cursor
moves. Otherwise the hub calls `enqueue`: a bounded queue drained by a pump task created only
then; once anything is queued, every later frame queues behind it until the pump has emptied
it, so order holds. A gap before a frame (events that never reached this instance) is filled
from the store by the pump before the frame.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from ...domain import MATCH_ID_PATTERN
from ...errors import MatchNotFound, ScoreboardError
from ...frames import Frame
from ...hub import WILDCARD, Hub
from .framing import websocket_bytes
from .websocket import WRITE_HIGH_WATER, Transport
from ...service import CatchUp, ScoreService

log = logging.getLogger(__name__)

# send(text, kind, cursor): kind is "snapshot", "event" or "control"; cursor is the SSE event id.
Sender = Callable[[str, str, str | None], Awaitable[None]]
EPOCH_PATTERN = re.compile(r"[0-9a-z]{1,16}")
MAX_SEQ = 2**63 - 1  # a cursor past any real log (as a SQLite integer can hold)
SEQ_DIGITS = 18
MATCH_ID_RULE = "a match id is lowercase letters, digits and '-', at most 64, or '*' for every match"
# In the queue: "catch up on this match from the store here" (Hub.resync), not a frame to send.
RESYNC = "\x00resync"


class TooManySubscriptions(ScoreboardError):
    code = "too_many_subscriptions"
    status = 429


class LiveSession:
    """A hub subscriber (`try_write`, `enqueue`, `resync`) plus the catch-up logic of one fan."""

    # One per connected fan, tens of thousands at once: slots, and nothing built until needed.
    __slots__ = (
        "_service", "_hub", "_send", "transport", "_fast", "_max_subscriptions", "_buffer_limit",
        "_on_overflow", "_overflowed", "_stopped", "_queue", "_cursors", "_topics", "_send_lock",
        "_pump", "may_view_private", "_on_sent", "_sample_every", "_until_sample", "_epochs",
        "_held_notice",
    )

    def __init__(
        self, service: ScoreService, hub: Hub, send: Sender, *,
        buffer_limit: int, max_subscriptions: int, on_overflow: Callable[[], None],
        on_sent: Callable[[Frame], None] | None = None, sample_every: int = 16,
        cursor_ids: bool = False,
    ) -> None:
        self._service = service
        self._hub = hub
        self._send = send
        # A WebSocket's transport, where frames may be written whole without awaiting
        # (`write_to`; None for SSE).
        self.transport: Transport | None = None
        # `transport` while the fast path is open (not stopped, nothing queued), else None: one
        # check per delivery instead of three.
        self._fast: Transport | None = None
        # A WebSocket's latest notice while its opening is under way (`hold_notices`, until
        # `write_to`): written right after the opening rather than lost to it.
        self._held_notice: Frame | bool | None = None
        self._max_subscriptions = max_subscriptions
        # The bound keeps a stalled client from growing memory without limit: past it the fan
        # is cut off (`on_overflow`: the transport closes with a resume hint).
        self._buffer_limit = buffer_limit
        self._on_overflow = on_overflow
        self._overflowed = False
        self._stopped = False  # overflowed, closed or connection lost: nothing more is sent
        # Frames waiting for the pump, oldest first; None (no deque, no task) while none wait.
        self._queue: deque[Frame] | None = None
        self._cursors: dict[str, int] = {}  # match id -> last seq sent to this fan
        # match id -> its log epoch, for `cursor_id` (SSE ids); None where no one asks for ids
        # (a WebSocket client keeps its own cursors), so a WebSocket fan holds no such map.
        self._epochs: dict[str, str] | None = {} if cursor_ids else None
        self._topics: set[str] = set()  # what we asked the hub for, to undo on close
        self._send_lock = asyncio.Lock()  # held by a catch-up and by the pump while sending
        self._pump: asyncio.Task[None] | None = None
        # Access (security/viewer.py): which private matches a wildcard subscription may carry. Explicit
        # subscriptions are checked by the transport before subscribe() is called.
        self.may_view_private: Callable[[str], bool] = _no_private_match
        # Metrics hook: one sent frame in `sample_every` is reported, so the per-delivery
        # cost is a countdown, not a clock read and a histogram update.
        self._on_sent = on_sent
        self._sample_every = self._until_sample = sample_every

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    def cursor_id(self) -> str:
        """`a:17@<epoch>,b:3@<epoch>`: where this fan stands in every match; an SSE id that can
        resume all (parse_since)."""
        epochs = self._epochs or {}
        return ",".join(
            f"{match_id}:{seq}@{epochs[match_id]}" if match_id in epochs else f"{match_id}:{seq}"
            for match_id, seq in sorted(self._cursors.items())
        )

    def hold_notices(self) -> None:
        """A WebSocket whose opening is under way: keep the latest notice for `write_to`."""
        self._held_notice = True

    def _sent_cursor(self) -> str | None:
        """The cursor id to send with a message: SSE's (its event id), none for a WebSocket,
        whose client keeps its own cursors."""
        return self.cursor_id() if self._epochs is not None else None

    def write_to(self, transport: Transport) -> None:
        """Event frames may go straight to this WebSocket transport (see `try_write`); a
        notice held during the opening goes out now."""
        self.transport = transport
        self._fast = transport if not self._stopped and self._queue is None else None
        held, self._held_notice = self._held_notice, None
        if isinstance(held, Frame):
            self.send_notice(held)

    def start(self) -> None:
        """Nothing to start: the pump task exists only while frames wait in the queue."""

    def stop(self) -> None:
        """Deliver nothing more, from now on (the connection is closing)."""
        self._stopped = True
        self._fast = None
        self._hub.unsubscribe(self, self._topics)

    def discard(self) -> None:
        """`close` for a caller that cannot wait (a connection callback): a pump still running
        is cancelled and ends on its own."""
        self._stopped = True
        self._fast = None
        self._hub.unsubscribe(self, self._topics)
        self._topics.clear()
        pump = self._pump
        if pump is not None and not pump.done():
            pump.cancel()

    async def close(self) -> None:
        """`discard`, then wait for a pump it cancelled to end."""
        pump = self._pump
        running = pump is not None and not pump.done()
        self.discard()
        if running:
            assert pump is not None
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def subscribe(self, match_ids: Iterable[str], since: dict[str, Cursor]) -> list[str]:
        """Subscribe and send each match's catch-up; returns the ids that do not exist."""
        wanted = [m for m in dict.fromkeys(match_ids) if m not in self._topics]
        if len(self._topics) + len(wanted) > self._max_subscriptions:
            raise TooManySubscriptions(
                f"at most {self._max_subscriptions} matches per connection"
            )
        missing: list[str] = []
        for match_id in wanted:
            if match_id == WILDCARD:
                # Its frames of a match also followed by name come twice: the cursor drops the second.
                self._hub.subscribe(self, [WILDCARD])
                self._topics.add(WILDCARD)
                continue
            async with self._send_lock:
                self._hub.subscribe(self, [match_id])
                self._topics.add(match_id)
                try:
                    cursor = since.get(match_id)
                    catch_up = await self._service.catch_up(
                        match_id, cursor.seq if cursor is not None else None,
                        cursor.epoch if cursor is not None else None,
                    )
                except MatchNotFound:
                    self._hub.unsubscribe(self, [match_id])
                    self._topics.discard(match_id)
                    missing.append(match_id)
                    continue
                self._cursors.pop(match_id, None)  # the catch-up decides where this fan stands
                await self._send_catch_up(match_id, catch_up)
                self._cursors[match_id] = catch_up.seq
        return missing

    def unsubscribe(self, match_ids: Iterable[str]) -> None:
        for match_id in match_ids:
            if match_id in self._topics:
                self._hub.unsubscribe(self, [match_id])
                self._topics.discard(match_id)
                self._cursors.pop(match_id, None)
                if self._epochs is not None:
                    self._epochs.pop(match_id, None)

    @property
    def subscriptions(self) -> list[str]:
        return sorted(self._topics)

    # -- delivery (the hub's Subscriber protocol) ------------------------------------------------

    def try_write(self, frame: Frame) -> bool:
        """Write `frame` to the socket now if it is next for this fan and nothing waits before
        it; True when taken (written, or not for this fan), False to have the hub enqueue it."""
        transport = self._fast
        if transport is None:
            # Stopped (closing: taken, nothing more is sent), or SSE, or frames waiting: queue.
            return self._stopped
        match_id = frame.match_id
        cursors = self._cursors
        cursor = cursors.get(match_id)
        if cursor is None:
            if match_id in self._topics:
                return False  # its catch-up is running (the cursor comes with it): queue behind it
            if not self._should_send(frame):  # a wildcard fan: no cursor, but the privacy rule
                return True
        elif frame.seq != cursor + 1:
            # Had already (a duplicate), or a gap the queue fills from the store first.
            return frame.seq <= cursor
        if transport.get_write_buffer_size() > WRITE_HIGH_WATER:
            return False  # the client reads slowly: queue, bounded
        # The frame's one pre-built bytes, shared by every fan. transport.write, not a raw
        # os.write to the socket: through this path both cost the same (docs/architecture.md).
        wire = frame.wire
        transport.write(wire if wire is not None else websocket_bytes(frame))
        if cursor is not None:
            cursors[match_id] = frame.seq
        self._until_sample -= 1
        if not self._until_sample:
            self._sampled(frame)
        return True

    def enqueue(self, frame: Frame) -> None:
        """Queue `frame` for the pump, behind what waits (hub.Subscriber); dropped once stopped."""
        if not self._stopped:
            self._enqueue(frame)

    def resync(self, match_id: str, seq: int) -> None:
        """The hub could not publish frame `seq` of `match_id`: once what is queued before it
        has gone, send what the store has past this fan's cursor (a snapshot for a wildcard
        fan, which holds no cursor), so the fan sees the gap closed instead of skipped."""
        if self._stopped:
            return
        if match_id not in self._topics and not (
            WILDCARD in self._topics and (
                match_id not in self._service.private_matches or self.may_view_private(match_id))
        ):
            return
        self._enqueue(Frame(match_id, seq, RESYNC))

    def send_notice(self, notice: Frame) -> None:
        """A message outside the log (hub.announce): no cursor moves, and a fan that is behind
        (a WebSocket backed up, an SSE fan with frames or a catch-up in flight) goes without
        it, as a newer one replaces it anyway. SSE sends it unnamed (`onmessage`), without
        an id, so the browser's Last-Event-ID stays the resume cursor."""
        if self._stopped:
            return
        transport = self.transport
        if transport is not None:
            # Whole frames on the transport: it cannot land inside another message.
            if transport.get_write_buffer_size() <= WRITE_HIGH_WATER:
                transport.write(websocket_bytes(notice))
        elif self._held_notice is not None:
            self._held_notice = notice  # the opening is under way: after it, the latest
        elif self._queue is None and not self._send_lock.locked():
            task = asyncio.get_running_loop().create_task(_send_notice(self._send, self._send_lock, notice.text))
            _NOTICES_SENDING.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(_NOTICES_SENDING.discard)

    def _enqueue(self, frame: Frame) -> None:
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
            self._fast = None  # from now on every frame queues behind this one
            self._pump = asyncio.get_running_loop().create_task(self._drain())
        elif len(queue) >= self._buffer_limit:
            self._overflowed = self._stopped = True
            self._fast = None
            queue.clear()
            self._on_overflow()
            return
        queue.append(frame)

    async def _drain(self) -> None:
        """Send the queued frames in order, then step aside for direct writes again."""
        try:
            async with self._send_lock:
                queue = self._queue
                # The frame being sent stays at the head, so `try_write` declines and frames queue behind it.
                while queue:
                    frame = queue[0]
                    if frame.text is RESYNC:
                        await self._fill_gap(frame.match_id)
                        queue.popleft()
                        continue
                    if self._gap_before(frame):
                        await self._fill_gap(frame.match_id)
                    if self._should_send(frame):
                        self._cursors[frame.match_id] = frame.seq
                        await self._send(frame.text, "event", self._sent_cursor())
                        if self._stopped:
                            return
                        self._until_sample -= 1
                        if not self._until_sample:
                            self._sampled(frame)
                    queue.popleft()
                self._queue = None  # no await since the queue emptied: nothing can slip past
                if not self._stopped:
                    self._fast = self.transport
        except ConnectionResetError:
            self._stopped = True  # the fan went away mid-send; its handler cleans up
            self._fast = None
        except Exception:
            # Never leave a fan with a queue and no pump: it would silently get nothing more.
            log.exception("sending to a live fan failed: disconnecting it so it resumes with since")
            self._stopped = True
            self._fast = self._queue = None
            self._on_overflow()

    def _gap_before(self, frame: Frame) -> bool:
        """Whether frames between this fan's cursor and `frame` never reached this instance
        (e.g. a Redis stream trimmed during a long outage). Only for matches followed by name."""
        cursor = self._cursors.get(frame.match_id)
        return cursor is not None and frame.seq > cursor + 1 and frame.match_id in self._topics

    async def _fill_gap(self, match_id: str) -> None:
        """Send what the fan missed from the store (events, or a snapshot), under the send lock.
        A fan without a cursor on the match (wildcard) gets a snapshot."""
        cursor = self._cursors.get(match_id)
        try:
            catch_up = await self._service.catch_up(match_id, cursor)
        except MatchNotFound:
            return
        await self._send_catch_up(match_id, catch_up)

    async def _send_catch_up(self, match_id: str, catch_up: CatchUp) -> None:
        """A snapshot, then the frames past the fan's cursor, moving the cursor as they go."""
        if self._epochs is not None and catch_up.epoch:
            self._epochs[match_id] = catch_up.epoch
        if catch_up.snapshot is not None:
            self._cursors[match_id] = catch_up.seq
            await self._send(catch_up.snapshot, "snapshot", self._sent_cursor())
        for frame in catch_up.frames:
            if frame.seq > self._cursors.get(match_id, -1):
                self._cursors[match_id] = frame.seq
                await self._send(frame.text, "event", self._sent_cursor())

    def _sampled(self, frame: Frame) -> None:
        self._until_sample = self._sample_every
        if self._on_sent is not None:
            self._on_sent(frame)

    def _should_send(self, frame: Frame) -> bool:
        cursor = self._cursors.get(frame.match_id)
        if cursor is None:
            # Only a wildcard fan gets frames of a match it holds no cursor for, and of a
            # private match only when its token or key grants it.
            return WILDCARD in self._topics and (
                frame.match_id not in self._service.private_matches or self.may_view_private(frame.match_id)
            )
        if frame.match_id not in self._topics and WILDCARD not in self._topics:
            return False  # unsubscribed while the frame was buffered
        return frame.seq > cursor


# SSE notices being written (LiveSession.send_notice): at most one per fan per announcement.
_NOTICES_SENDING: set[asyncio.Task[None]] = set()


async def _send_notice(send: Sender, lock: asyncio.Lock, text: str) -> None:
    """Under the send lock, so a pump or catch-up starting meanwhile writes after it."""
    async with lock:
        try:
            await send(text, "message", None)
        except (ConnectionResetError, RuntimeError):
            pass  # the fan went away meanwhile: its handler cleans up


def _no_private_match(match_id: str) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a fan stood in a match: the last seq it had and the epoch of the log that seq
    belongs to (frames.match_epoch; None in a cursor from before epochs, taken on trust)."""

    seq: int
    epoch: str | None = None


def parse_cursor(raw: str) -> Cursor:
    """`17` or `17@<epoch>` -> Cursor; raises ValueError."""
    seq, sep, epoch = raw.partition("@")
    if not (seq.isascii() and seq.isdigit() and len(seq) <= SEQ_DIGITS):
        raise ValueError("a seq is a whole number")
    if sep and not EPOCH_PATTERN.fullmatch(epoch):
        raise ValueError("an epoch is 1-16 lowercase letters and digits")
    return Cursor(int(seq), epoch if sep else None)


def parse_since(raw: str) -> dict[str, Cursor]:
    """`a:17@k2x9,b:3` -> {"a": Cursor(17, "k2x9"), "b": Cursor(3)}; raises ValueError."""
    cursors: dict[str, Cursor] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        match_id, sep, cursor = part.rpartition(":")
        if not sep or not match_id:
            raise ValueError(f"bad cursor {part[:80]!r}: use match:seq or match:seq@epoch")
        try:
            cursors[match_id] = parse_cursor(cursor)
        except ValueError:
            raise ValueError(f"bad cursor {part[:80]!r}: use match:seq or match:seq@epoch") from None
    return cursors


def parse_matches(raw: str) -> list[str]:
    return [m.strip() for m in raw.split(",") if m.strip()]


def invalid_match_ids(match_ids: Iterable[str]) -> dict[str, list[str]]:
    """Positions of the ids that cannot name a match (nor be "*"), with why: an error tree."""
    return {
        str(index): [MATCH_ID_RULE] for index, match_id in enumerate(match_ids)
        if match_id != WILDCARD and not MATCH_ID_PATTERN.fullmatch(match_id)
    }
