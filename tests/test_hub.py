"""The in-process hub: fan-out by match, wildcard, bounded buffers."""
from __future__ import annotations

import asyncio

from scoreboard.hub import WILDCARD, BufferedSubscriber, Frame, Hub


class Recorder:
    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def deliver(self, frame: Frame) -> None:
        self.frames.append(frame)


def test_frames_reach_only_subscribers_of_their_match_and_the_wildcard():
    hub = Hub()
    a, b, everyone = Recorder(), Recorder(), Recorder()
    hub.subscribe(a, ["a"])
    hub.subscribe(b, ["b"])
    hub.subscribe(everyone, [WILDCARD])
    assert hub.publish(Frame("a", 1, "A1")) == 2
    hub.publish(Frame("b", 1, "B1"))
    assert [f.text for f in a.frames] == ["A1"]
    assert [f.text for f in b.frames] == ["B1"]
    assert [f.text for f in everyone.frames] == ["A1", "B1"]


def test_unsubscribed_subscribers_get_nothing_and_empty_topics_are_dropped():
    hub = Hub()
    a = Recorder()
    hub.subscribe(a, ["a"])
    hub.unsubscribe(a, ["a"])
    hub.publish(Frame("a", 1, "A1"))
    assert a.frames == [] and hub.subscriber_count() == 0


def test_one_frame_object_is_shared_by_every_subscriber():
    """Serialized once: every subscriber gets the very same frame object."""
    hub = Hub()
    subscribers = [Recorder() for _ in range(50)]
    for s in subscribers:
        hub.subscribe(s, ["a"])
    frame = Frame("a", 1, '{"type":"event"}')
    hub.publish(frame)
    assert all(s.frames[0] is frame for s in subscribers)


async def test_slow_subscriber_overflows_alone():
    """A subscriber past its bound is cut off; the others and the publisher carry on."""
    hub = Hub()
    cut_off = []
    slow = BufferedSubscriber(limit=3, on_overflow=lambda: cut_off.append(True))
    fast = BufferedSubscriber(limit=3)
    hub.subscribe(slow, ["a"])
    hub.subscribe(fast, ["a"])
    received = []
    for seq in range(1, 11):
        hub.publish(Frame("a", seq, str(seq)))
        received += [f.seq for f in await asyncio.wait_for(fast.next_frames(), 1)]
    assert received == list(range(1, 11))
    assert slow.overflowed and cut_off == [True]
    assert await asyncio.wait_for(slow.next_frames(), 1) == []
