"""WEB_CONCURRENCY: a worker that dies is replaced, and a crash loop backs off instead of
spinning (issue 10, item 12)."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from . import test_workers
from .test_workers import START_TIMEOUT, children_of, socket_inodes, sockets_on_port

two_workers = test_workers.two_workers  # the same fixture: WEB_CONCURRENCY=2 on a real Redis

pytestmark = pytest.mark.timeout(120)


def wait_for_workers(process: subprocess.Popen[bytes], port: int, count: int, other_than: set[int]) -> set[int]:
    """The pids of `count` workers all listening on `port`, once some are new (not in `other_than`)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert process.poll() is None, "the supervisor exited"
        workers = set(children_of(process.pid))
        listening = sockets_on_port(port, "0A")
        if len(workers) == count and workers - other_than and all(socket_inodes(w) & listening for w in workers):
            return workers
        assert time.monotonic() < deadline, f"no replacement worker in time (workers: {workers})"
        time.sleep(0.05)


async def test_a_dead_worker_is_replaced_and_serves(two_workers: tuple[int, subprocess.Popen[bytes]]) -> None:
    """SIGKILL one worker: a new one is forked, listens on the port and answers; SIGTERM then
    stops every worker and the supervisor exits 0."""
    port, process = two_workers
    first = set(children_of(process.pid))
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    workers = await asyncio.to_thread(wait_for_workers, process, port, 2, first)
    assert victim not in workers and len(workers & first) == 1
    (replacement,) = workers - first
    established = sockets_on_port(port, "01")
    served_by_replacement = False
    for _ in range(40):  # new connections: the kernel spreads them over both workers
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
            async with session.get("/healthz") as answer:
                assert answer.status == 200
                established = sockets_on_port(port, "01")
                served_by_replacement |= bool(socket_inodes(replacement) & established)
        if served_by_replacement:
            break
    assert served_by_replacement, "the replacement worker never took a connection"
    process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(process.wait, 20) == 0
    assert not set(children_of(process.pid))


async def test_a_crash_loop_backs_off(two_workers: tuple[int, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    """Workers killed right after they start are replaced after growing pauses, and the
    supervisor logs each death with the pause."""
    port, process = two_workers
    known = set(children_of(process.pid))
    replaced_at = []
    for _ in range(4):
        victim = max(known)
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        known = await asyncio.to_thread(wait_for_workers, process, port, 2, known)
        replaced_at.append(time.monotonic() - killed)
    log = (tmp_path / "workers.log").read_text()
    pauses = [float(p) for p in re.findall(r"died \(signal 9\) after [\d.]+ s: starting another in ([\d.]+) s", log)]
    # Deaths 1-4 in a row, each young: pauses drawn from 0.25-0.5, 0.5-1, 1-2 and 2-4 s.
    assert len(pauses) == 4 and pauses == sorted(pauses), log
    assert pauses[0] <= 0.5 and pauses[3] >= 2.0, pauses
    # The supervisor really waited (the time to a listening replacement includes its start-up).
    assert all(took >= pause for took, pause in zip(replaced_at, pauses)), (replaced_at, pauses)
