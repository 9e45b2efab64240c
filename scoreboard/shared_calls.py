"""One call shared by every caller that asked for the same thing before it started.

After a deploy thousands of fans reconnect within a second or two, and each asks the store
for the same match (its state for the catch-up, its privacy for the access check). On Redis
each ask is a round trip, ~0.2 ms of this process's CPU, and the loop is the bottleneck then.
`SharedCalls` sends one read per key for all the callers that asked before it was sent.

Freshness is exactly that of a read of one's own: a caller only ever joins a call that has
not started yet, so the answer was read after the caller asked. That matters for the live
edge's ordering guarantee (web/live/session.py): a fan subscribes to the hub *before* it
reads its catch-up, and a read that had begun before that could miss an event in between.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class SharedCalls(Generic[K, T]):
    """`await shared(key, *args)`: `call(key, *args)` once for every caller of `key` that asked
    before it started (the first caller's args are used). A caller that is cancelled leaves
    the call running for the others; a failure is raised to each of them."""

    def __init__(self, call: Callable[..., Awaitable[T]]) -> None:
        self._call = call
        self._waiting: dict[K, asyncio.Future[T]] = {}  # key -> its call, not started yet

    async def __call__(self, key: K, *args: Any) -> T:
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = self._waiting[key] = asyncio.ensure_future(self._run(key, args))
            waiting.add_done_callback(_retrieve)
        return await asyncio.shield(waiting)

    async def _run(self, key: K, args: tuple[Any, ...]) -> T:
        del self._waiting[key]  # started: whoever asks from now on gets a call of their own
        return await self._call(key, *args)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Every caller may have been cancelled: the failure is theirs, not worth a loop warning."""
    if not task.cancelled():
        task.exception()
