"""shared_calls.SharedCalls: one call for the callers that asked before it started."""
from __future__ import annotations

import asyncio

import pytest

from scoreboard.shared_calls import SharedCalls


class Reads:
    """Stands in for a store: each call is counted, and returns what the store holds *when
    the call starts* (what a real round trip would see)."""

    def __init__(self) -> None:
        self.calls = 0
        self.value = 0
        self.fail = False

    async def read(self, key: str) -> int:
        self.calls += 1
        seen = self.value
        await asyncio.sleep(0.01)
        if self.fail:
            raise ConnectionError("store down")
        return seen


async def test_callers_that_ask_together_share_one_call() -> None:
    reads = Reads()
    shared: SharedCalls[str, int] = SharedCalls(reads.read)
    answers = await asyncio.gather(*(shared("m") for _ in range(50)), shared("other"))
    assert answers == [0] * 51 and reads.calls == 2  # one per key


async def test_a_caller_never_joins_a_call_already_under_way() -> None:
    """Asked after a read has started, a caller gets a read of its own: its answer can never
    be older than its question."""
    reads = Reads()
    shared: SharedCalls[str, int] = SharedCalls(reads.read)
    first = asyncio.ensure_future(shared("m"))
    await asyncio.sleep(0.001)  # the first read is under way
    reads.value = 7  # the store changes
    second = await shared("m")
    assert await first == 0 and second == 7 and reads.calls == 2


async def test_one_caller_cancelled_leaves_the_others_their_answer_and_failures_reach_all() -> None:
    reads = Reads()
    shared: SharedCalls[str, int] = SharedCalls(reads.read)
    impatient = asyncio.ensure_future(shared("m"))
    patient = asyncio.ensure_future(shared("m"))
    await asyncio.sleep(0)
    impatient.cancel()
    assert await patient == 0
    reads.fail = True
    results = await asyncio.gather(shared("m"), shared("m"), return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results) and reads.calls == 2
    with pytest.raises(asyncio.CancelledError):
        await impatient
