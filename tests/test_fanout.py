"""Fan-out without a per-fan coroutine hop: the fast path (try_write), the queue, and their order."""
from __future__ import annotations

import asyncio
import json
import struct
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from scoreboard.frames import Frame
from scoreboard.hub import WILDCARD, Hub
from scoreboard.service import CatchUp
from scoreboard.web.app import create_app
from scoreboard.web.keys import HUB_KEY
from scoreboard.web.live.framing import websocket_bytes, websocket_text_frame
from scoreboard.web.live.session import Cursor, LiveSession
from support import create_match, post_events, receive_json


def frame(seq: int, match_id: str = "m") -> Frame:
    return Frame(match_id, seq, json.dumps({"type": "event", "match_id": match_id, "seq": seq}))


class GatedService:
    """A service whose catch-up waits for the test to open a gate: the race made deterministic."""

    def __init__(self, catch_up: CatchUp) -> None:
        self.private_matches: set[str] = set()
        self.gate = asyncio.Event()
        self._catch_up = catch_up

    async def catch_up(self, match_id: str, since: int | None, epoch: str | None = None) -> CatchUp:
        await self.gate.wait()
        return self._catch_up


class Wire:
    """A fan's socket: what reached it, in order, and by which path; `backed_up` fills its buffer."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []  # (path, seq)
        self.backed_up = False
        self.send_gate = asyncio.Event()
        self.send_gate.set()
        self.overflows = 0

    def get_write_buffer_size(self) -> int:
        return 1 << 20 if self.backed_up else 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default  # no real socket under it: frames go through write()

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        assert not self.backed_up, "written past the high-water mark"
        payload = data[2:] if data[1] < 126 else data[4:]
        self.sent.append(("direct", json.loads(payload)["seq"]))

    async def send(self, text: str, kind: str, cursor: str | None) -> None:
        await self.send_gate.wait()
        if kind != "snapshot":
            self.sent.append(("queued", json.loads(text)["seq"]))

    def overflow(self) -> None:
        self.overflows += 1

    @property
    def seqs(self) -> list[int]:
        return [seq for _, seq in self.sent]


def session_for(service: Any, hub: Hub, wire: Wire, limit: int = 100) -> LiveSession:
    session = LiveSession(
        service, hub, wire.send, buffer_limit=limit, max_subscriptions=10, on_overflow=wire.overflow,
    )
    session.write_to(wire)  # type: ignore[arg-type]
    return session


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_websocket_bytes_is_one_unmasked_text_frame_built_once():
    """Header lengths follow RFC 6455 (7-bit, 16-bit, 64-bit) and the bytes are cached."""
    for size, header in ((125, b"\x81\x7d"), (126, b"\x81\x7e\x00\x7e"),
                         (65535, b"\x81\x7e\xff\xff"), (65536, b"\x81\x7f" + struct.pack("!Q", 65536))):
        assert websocket_text_frame(b"x" * size) == header + b"x" * size
    one = Frame("m", 1, "é" * 70)  # 140 bytes of UTF-8: the 16-bit length form
    assert websocket_bytes(one) == b"\x81\x7e\x00\x8c" + ("é" * 70).encode()
    assert websocket_bytes(one) is websocket_bytes(one)
    assert one == Frame("m", 1, "é" * 70)  # the cache is not part of the value


async def test_frames_racing_a_catch_up_are_sent_once_in_order_then_directly():
    """Frames published during the catch-up queue; those it covered are dropped; later ones go direct."""
    hub = Hub()
    service = GatedService(CatchUp(None, [frame(4), frame(5)], 5))
    wire = Wire()
    session = session_for(service, hub, wire)
    subscribing = asyncio.create_task(session.subscribe(["m"], {"m": Cursor(3)}))
    await settle()
    for seq in (4, 5, 6):  # 4 and 5 are also in the catch-up: the race
        hub.publish(frame(seq))
    assert wire.sent == []  # the catch-up holds the send lock: nothing direct
    service.gate.set()
    await subscribing
    await settle()
    hub.publish(frame(7))
    assert wire.seqs == [4, 5, 6, 7]
    assert wire.sent[-1] == ("direct", 7)
    assert session._pump is not None and session._pump.done() and session._queue is None
    await session.close()


async def test_direct_and_queued_frames_keep_order_and_the_direct_path_resumes():
    """Once a frame waits in the queue, later frames queue behind it even if the socket could take them."""
    hub = Hub()
    wire = Wire()
    service = GatedService(CatchUp(None, [], 0))
    service.gate.set()
    session = session_for(service, hub, wire)
    await session.subscribe(["m"], {"m": Cursor(0)})
    hub.publish(frame(1))
    wire.backed_up = True
    wire.send_gate.clear()  # the pump's send blocks, as on a full socket
    hub.publish(frame(2))
    wire.backed_up = False  # the socket could take more now...
    hub.publish(frame(3))
    hub.publish(frame(4))
    await settle()
    assert wire.seqs == [1]  # ...but 3 and 4 wait behind 2
    wire.send_gate.set()
    await settle()
    hub.publish(frame(5))
    assert wire.sent == [("direct", 1), ("queued", 2), ("queued", 3), ("queued", 4), ("direct", 5)]
    await session.close()


async def test_a_stalled_fan_overflows_alone_and_others_keep_the_direct_path():
    """The backed-up fan queues, overflows once and is stopped; the other gets every frame directly."""
    hub = Hub()
    stalled, healthy = Wire(), Wire()
    sessions = []
    for wire in (stalled, healthy):
        service = GatedService(CatchUp(None, [], 0))
        service.gate.set()
        session = session_for(service, hub, wire, limit=5)
        await session.subscribe(["m"], {"m": Cursor(0)})
        sessions.append(session)
    stalled.backed_up = True
    stalled.send_gate.clear()
    for seq in range(1, 21):
        hub.publish(frame(seq))
        await asyncio.sleep(0)
    assert stalled.overflows == 1 and sessions[0].overflowed
    assert healthy.sent == [("direct", seq) for seq in range(1, 21)]
    stalled.send_gate.set()
    await settle()
    assert stalled.seqs == [1]  # only the send already in flight; nothing after the cut
    for session in sessions:
        await session.close()


async def test_wildcard_fans_skip_private_matches_on_the_direct_path_too():
    """A wildcard fan gets public matches directly and private ones only when granted."""
    hub = Hub()
    wire = Wire()
    service = GatedService(CatchUp(None, [], 0))
    service.private_matches.add("secret")
    session = session_for(service, hub, wire)
    await session.subscribe([WILDCARD], {})
    hub.publish(frame(1, "open"))
    hub.publish(frame(1, "secret"))
    assert wire.sent == [("direct", 1)]
    session.may_view_private = lambda match_id: match_id == "secret"
    hub.publish(frame(2, "secret"))
    assert wire.sent == [("direct", 1), ("direct", 2)]
    await session.close()


class CountingSession(LiveSession):
    """A session that records which frames the hub had to enqueue (its fast path declined)."""

    __slots__ = ("delivered",)

    def enqueue(self, frame: Frame) -> None:
        self.delivered.append(frame.seq)
        super().enqueue(frame)


async def counting_session(hub: Hub, wire: Wire) -> CountingSession:
    service = GatedService(CatchUp(None, [], 0))
    service.gate.set()
    session = CountingSession(service, hub, wire.send, buffer_limit=100, max_subscriptions=10,  # type: ignore[arg-type]
                              on_overflow=wire.overflow)
    session.delivered = []
    session.write_to(wire)  # type: ignore[arg-type]
    await session.subscribe(["m"], {"m": Cursor(0)})
    return session


async def test_up_to_date_fans_take_the_fast_path_and_queue_only_while_backed_up():
    """An up-to-date fan is written at once (no enqueue); a backed-up one queues in order and is
    written at once again as soon as the pump has caught it up."""
    hub = Hub()
    wire = Wire()
    session = await counting_session(hub, wire)
    hub.publish(frame(1))
    wire.backed_up = True
    wire.send_gate.clear()
    hub.publish(frame(2))  # the socket is full: try_write declines, the hub enqueues
    hub.publish(frame(3))  # queued behind 2 whatever the socket says
    wire.backed_up = False
    wire.send_gate.set()
    await settle()
    hub.publish(frame(4))
    hub.publish(frame(5))
    assert wire.sent == [("direct", 1), ("queued", 2), ("queued", 3), ("direct", 4), ("direct", 5)]
    assert session.delivered == [2, 3]
    await session.close()
    assert hub.subscriber_count("m") == 0


async def test_the_lane_never_writes_a_frame_twice_or_to_a_fan_that_also_follows_everything():
    """A replayed frame is not rewritten; a fan adding "*" still gets each frame once."""
    hub = Hub()
    wire = Wire()
    session = await counting_session(hub, wire)
    hub.publish(frame(1))
    hub.publish(frame(2))
    hub.publish(frame(2))  # the same commit seen again (e.g. a replayed stream entry)
    assert wire.seqs == [1, 2]
    await session.subscribe([WILDCARD], {})
    hub.publish(frame(3))  # offered twice (as "m" and as "*"): the cursor drops the second
    hub.publish(frame(1, "other"))
    assert wire.seqs == [1, 2, 3, 1]
    await session.close()


class LogService:
    """A service whose catch-up answers from a log, as the store would."""

    def __init__(self, log: list[Frame]) -> None:
        self.private_matches: set[str] = set()
        self.log = log

    async def catch_up(self, match_id: str, since: int | None, epoch: str | None = None) -> CatchUp:
        frames = [f for f in self.log if f.match_id == match_id and f.seq > (since or 0)]
        return CatchUp(None, frames, frames[-1].seq if frames else since or 0)


async def test_frames_that_never_reached_the_hub_are_fetched_before_later_ones():
    """A gap in what the hub publishes (a trimmed Redis stream) sends the missing events from the
    store, in order, before the frame that revealed it; the fast path never writes past a gap."""
    hub = Hub()
    wire = Wire()
    service = LogService([frame(seq) for seq in range(1, 7)])
    session = LiveSession(service, hub, wire.send, buffer_limit=100, max_subscriptions=10,  # type: ignore[arg-type]
                          on_overflow=wire.overflow)
    session.write_to(wire)  # type: ignore[arg-type]
    await session.subscribe(["m"], {"m": Cursor(0)})  # the catch-up sends the six events so far
    assert wire.seqs == [1, 2, 3, 4, 5, 6]
    wire.sent.clear()
    service.log += [frame(seq) for seq in range(7, 11)]
    hub.publish(frame(7))
    hub.publish(frame(8))
    assert wire.sent == [("direct", 7), ("direct", 8)]
    hub.publish(frame(10))  # 9 was lost upstream
    await settle()
    hub.publish(frame(11))
    service.log.append(frame(11))
    assert wire.seqs == [7, 8, 9, 10, 11]
    assert wire.sent[2] == ("queued", 9) and wire.sent[-1] == ("direct", 11)
    await session.close()


# -- over real sockets ---------------------------------------------------------------------------


async def test_fans_joining_mid_burst_get_every_event_once_in_order(aiohttp_client, settings):
    """Fans that subscribe with `since` while events stream in see a gapless, duplicate-free run."""
    client = await aiohttp_client(create_app(replace(settings, ingest_rate=0)))
    await create_match(client)
    await post_events(client, "arg-fra", {"type": "period_start"})
    total = 60

    async def scorekeeper() -> None:
        for _ in range(total):
            await post_events(client, "arg-fra", {"type": "notification", "title": "t"})

    async def fan(delay: float) -> list[int]:
        await asyncio.sleep(delay)
        seqs: list[int] = []
        async with client.ws_connect("/ws?matches=arg-fra&since=arg-fra:1") as ws:
            while not seqs or seqs[-1] < total + 1:
                message = await receive_json(ws, timeout=10)
                if message["type"] == "event":
                    seqs.append(message["seq"])
        return seqs

    fans = [asyncio.create_task(fan(delay)) for delay in (0, 0.01, 0.03, 0.06, 0.1)]
    await asyncio.sleep(0)
    await scorekeeper()
    for result in await asyncio.gather(*fans):
        assert result == list(range(2, total + 2))


async def test_a_fan_that_stops_reading_is_queued_then_cut_off_with_1013_while_others_continue(
    aiohttp_client, settings,
):
    """The stalled fan queues, overflows and gets 1013; the other gets everything in order."""
    app = create_app(replace(settings, subscriber_buffer=50, ingest_rate=0))
    client = await aiohttp_client(app)
    await create_match(client)
    await post_events(client, "arg-fra", {"type": "period_start"})
    slow = await client.ws_connect("/ws?matches=arg-fra&since=arg-fra:1")
    fast = await client.ws_connect("/ws?matches=arg-fra&since=arg-fra:1")
    assert (await receive_json(slow))["type"] == "subscribed"
    assert (await receive_json(fast))["type"] == "subscribed"
    slow._response.connection.transport.pause_reading()
    hub = app[HUB_KEY]
    sessions = list(hub._topics["arg-fra"])
    assert len(sessions) == 2
    queued_seen = False
    batch = [{"type": "notification", "title": "x" * 100, "text": "y" * 700}] * 50
    expected = 2
    for _ in range(200):
        await post_events(client, "arg-fra", batch)
        queued_seen = queued_seen or any(s._queue is not None for s in sessions)
        for _ in range(50):
            message = await receive_json(fast)
            assert message["type"] == "event" and message["seq"] == expected
            expected += 1
        if any(s.overflowed for s in sessions):
            break
    assert queued_seen and any(s.overflowed for s in sessions)
    # Only the stalled fan overflowed; the one that kept reading is still subscribed.
    assert [s.overflowed for s in hub._topics["arg-fra"]] == [False]
    slow._response.connection.transport.resume_reading()
    last = 1
    while True:
        message = await asyncio.wait_for(slow.receive(), 10)
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        seq = json.loads(message.data)["seq"]
        assert seq == last + 1
        last = seq
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1013
    # The other fan is still served.
    await post_events(client, "arg-fra", {"type": "notification", "title": "after"})
    message = await receive_json(fast)
    assert message["seq"] == expected
    await fast.close()
    await slow.close()


@pytest.mark.parametrize("compress", [0, 15])
async def test_direct_frames_parse_for_clients_with_and_without_offered_deflate(client, compress):
    """Pre-built frames (small and 16-bit-length sizes) arrive intact whatever the client offered."""
    await create_match(client)
    async with client.ws_connect("/ws?matches=arg-fra", compress=compress) as ws:
        assert (await receive_json(ws))["type"] == "snapshot"
        assert (await receive_json(ws))["type"] == "subscribed"
        await post_events(client, "arg-fra", [{"type": "period_start"},
                                              {"type": "notification", "title": "ü" * 100, "text": "é" * 300}])
        assert (await receive_json(ws))["seq"] == 1
        assert (await receive_json(ws))["event"]["text"] == "é" * 300


class RecordingTransport:
    """Where a session writes WebSocket bytes (the two calls it makes of a transport)."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.written.append(data)


async def test_a_notice_sent_while_a_websocket_opens_reaches_it_right_after_the_opening() -> None:
    """'N watching' changing while a fan's opening is being written is not lost to it: the
    latest count goes out right after the opening (snapshot, subscribed), nothing before."""
    async def send(text: str, kind: str, cursor: str | None) -> None:
        raise AssertionError("a held notice is not sent through the catch-up path")

    session = LiveSession(None, Hub(), send, buffer_limit=10, max_subscriptions=10,  # type: ignore[arg-type]
                          on_overflow=lambda: None)
    session.hold_notices()
    for count in (2, 3):
        session.send_notice(Frame("m", 0, json.dumps({"type": "watching", "match_id": "m", "count": count})))
    await settle()
    transport = RecordingTransport()
    session.write_to(transport)  # the opening is written
    assert [json.loads(data[2:])["count"] for data in transport.written] == [3]
