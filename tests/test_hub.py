"""The in-process hub: fan-out by match, wildcard, bounded buffers."""
from __future__ import annotations

from scoreboard.frames import Frame
from scoreboard.hub import WILDCARD, Hub


class Recorder:
    """A subscriber that takes every frame on the fast path."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.resyncs: list[tuple[str, int]] = []

    def try_write(self, frame: Frame) -> bool:
        self.frames.append(frame)
        return True

    def enqueue(self, frame: Frame) -> None:
        raise AssertionError("try_write took it")

    def resync(self, match_id: str, seq: int) -> None:
        self.resyncs.append((match_id, seq))


class Queueing(Recorder):
    """A subscriber whose fast path declines: every frame is enqueued, once."""

    def try_write(self, frame: Frame) -> bool:
        return False

    def enqueue(self, frame: Frame) -> None:
        self.frames.append(frame)


class Broken(Recorder):
    def try_write(self, frame: Frame) -> bool:
        raise RuntimeError("its socket is gone")


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


def test_a_declined_fast_path_enqueues_the_frame_once():
    """try_write first; enqueue only when it declines; each subscriber is offered each frame once."""
    hub = Hub()
    fast, slow = Recorder(), Queueing()
    hub.subscribe(fast, ["a"])
    hub.subscribe(slow, ["a"])
    for seq in (1, 2, 3):
        hub.publish(Frame("a", seq, f"A{seq}"))
    assert [f.seq for f in fast.frames] == [1, 2, 3]
    assert [f.seq for f in slow.frames] == [1, 2, 3]
    assert hub.deliveries == 6


def test_a_failing_subscriber_is_told_to_resync_and_the_others_get_the_frame():
    """A subscriber that raises is made to fetch the frame from the store; nobody else misses it."""
    hub = Hub()
    broken, healthy = Broken(), Recorder()
    hub.subscribe(broken, ["a"])
    hub.subscribe(healthy, ["a"])
    hub.publish(Frame("a", 1, "A1"))
    assert [f.seq for f in healthy.frames] == [1]
    assert broken.resyncs == [("a", 1)]


def test_a_frame_that_could_not_be_built_makes_every_fan_resync_once():
    """Hub.resync reaches the match's and the wildcard subscribers; a seq already published does not."""
    hub = Hub()
    a, everyone, other = Recorder(), Recorder(), Recorder()
    hub.subscribe(a, ["a"])
    hub.subscribe(everyone, [WILDCARD])
    hub.subscribe(other, ["b"])
    hub.publish(Frame("a", 1, "A1"))
    hub.resync("a", 2)
    hub.resync("a", 1)  # published already: nothing to fetch
    assert a.resyncs == everyone.resyncs == [("a", 2)] and other.resyncs == []


class Listener(Recorder):
    """A subscriber that also takes notices (messages outside the log)."""

    def __init__(self) -> None:
        super().__init__()
        self.notices: list[Frame] = []

    def send_notice(self, notice: Frame) -> None:
        self.notices.append(notice)


def test_notices_reach_the_fans_of_their_match_only_and_fans_are_counted_per_match():
    """announce() goes to the match's own subscribers, not a wildcard one, and moves no seq;
    fan_counts() counts those same subscribers, per match, wildcard left out."""
    hub = Hub()
    a1, a2, b, everyone = Listener(), Listener(), Listener(), Listener()
    hub.subscribe(a1, ["a"])
    hub.subscribe(a2, ["a", "b"])
    hub.subscribe(b, ["b"])
    hub.subscribe(everyone, [WILDCARD])
    assert hub.fan_counts() == {"a": 2, "b": 2}
    notice = Frame("a", 0, '{"type":"watching","match_id":"a","count":2}')
    hub.announce(notice)
    assert a1.notices == [notice] and a2.notices == [notice]
    assert b.notices == [] and everyone.notices == []
    hub.publish(Frame("a", 1, "A1"))  # the notice took no seq: frame 1 is still news
    assert [f.text for f in a1.frames] == ["A1"]
    hub.unsubscribe(a2, ["a", "b"])
    assert hub.fan_counts() == {"a": 1, "b": 1}
