"""WEB_CONCURRENCY workers on one port: forked, replaced when one dies, stopped together.

The supervisor (the process the platform started) only forks, watches and relays signals. A
worker that dies (a crash, the OOM killer, a stray kill) is replaced, so the dyno does not
quietly serve on fewer workers for the rest of its life. A worker that dies soon after its
start is replaced after a growing pause (capped, with jitter): a crash loop, e.g. on a bad
deploy, costs a fork now and then rather than a core. SIGTERM and SIGINT go to every worker;
then nothing is replaced and the supervisor exits with the worst exit code once all are gone.
"""
from __future__ import annotations

import logging
import os
import random
import signal
import time
from collections.abc import Callable

log = logging.getLogger("scoreboard.workers")

# A worker that ran this long was healthy: its death starts the backoff from the beginning.
HEALTHY_AFTER = 30.0
RESTART_DELAY_MIN = 0.5
RESTART_DELAY_MAX = 30.0
POLL_SECONDS = 0.1  # how often the supervisor reaps and respawns (it has nothing else to do)


def restart_delay(failures: int) -> float:
    """Seconds before replacing a worker after `failures` quick deaths in a row (0: at once)."""
    if failures <= 0:
        return 0.0
    ceiling = min(RESTART_DELAY_MAX, RESTART_DELAY_MIN * 2 ** min(failures - 1, 16))
    return random.uniform(ceiling / 2, ceiling)


class Supervisor:
    """Keeps `count` workers running `work()` (its return value is the worker's exit code)."""

    def __init__(self, count: int, work: Callable[[], int]) -> None:
        self.count = count
        self._work = work
        self._workers: dict[int, float] = {}  # pid -> when it started (monotonic)
        self._stopping: int | None = None  # the signal that asked us to stop
        self._failures = 0  # quick deaths in a row
        self._respawn_at: list[float] = []  # when each replacement is due (monotonic)
        self.worst = 0  # the worst exit code of the workers stopped at the end (a signal n: 128 + n)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for _ in range(self.count):
            self._spawn()
        while self._workers or (self._respawn_at and self._stopping is None):
            self._reap()
            now = time.monotonic()
            due = [at for at in self._respawn_at if at <= now]
            if due and self._stopping is None:
                self._respawn_at = [at for at in self._respawn_at if at > now]
                for _ in due:
                    self._spawn()
            time.sleep(POLL_SECONDS)
        return self.worst

    def _spawn(self) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                # The supervisor's handlers would relay to its own children: not ours to do.
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                code = self._work()
            finally:
                os._exit(code)
        self._workers[pid] = time.monotonic()
        log.info("worker %d started (%d of %d)", pid, len(self._workers), self.count)

    def _reap(self) -> None:
        while self._workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self._workers.clear()
                return
            if pid == 0:
                return
            started = self._workers.pop(pid, None)
            if started is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if self._stopping is not None:
                self.worst = max(self.worst, code if code >= 0 else 128 - code)
                continue
            lived = time.monotonic() - started
            self._failures = 0 if lived >= HEALTHY_AFTER else self._failures + 1
            delay = restart_delay(self._failures)
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            log.error("worker %d died (%s) after %.1f s: starting another in %.1f s", pid, how, lived, delay)
            self._respawn_at.append(time.monotonic() + delay)

    def _stop(self, signum: int, _frame: object) -> None:
        self._stopping = signum
        self._respawn_at.clear()
        for pid in tuple(self._workers):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
