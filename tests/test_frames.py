"""The short frame history that answers reconnecting fans from memory."""
from __future__ import annotations

from scoreboard.frames import FrameHistory
from scoreboard.frames import Frame


def frame(seq: int) -> Frame:
    return Frame("m", seq, f"f{seq}")


def test_history_answers_since_within_its_depth_and_none_beyond():
    history = FrameHistory(depth=3)
    for seq in range(1, 6):
        history.add(frame(seq))
    assert [f.seq for f in history.since("m", 3)] == [4, 5]
    assert history.since("m", 1) is None  # 2 fell out of the window
    assert history.since("other", 0) is None


def test_a_frame_already_held_is_ignored_not_taken_for_a_gap():
    """A catch-up may rebuild frames before the stream delivers them: keep the history."""
    history = FrameHistory(depth=10)
    history.backfill("m", [frame(1), frame(2), frame(3)])
    history.add(frame(3))
    history.add(frame(4))
    assert [f.seq for f in history.since("m", 0)] == [1, 2, 3, 4]


def test_a_real_gap_keeps_only_what_is_whole():
    history = FrameHistory(depth=10)
    history.add(frame(1))
    history.add(frame(3))
    assert history.since("m", 0) is None
    assert [f.seq for f in history.since("m", 2)] == [3]
