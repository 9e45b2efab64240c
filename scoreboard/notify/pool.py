"""Where pushes are sent from: `ProcessSender` (the default: sender processes, see worker.py)
or `InlineSender` (on the server's own loop, `push_processes = 0`, for hosts that allow no
child process). Both take a `PushJob` and return a future of its `JobResult`.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import zlib
from dataclasses import dataclass, replace
from typing import Protocol

from .guard import OutboundGuard
from .sender import JobResult, PushJob, PushSender
from .vapid import Vapid
from .wire import SenderConfig, encode, read_message

log = logging.getLogger(__name__)
STOP_TIMEOUT = 5.0
RESTART_DELAY = 1.0


class PushTransport(Protocol):
    async def start(self) -> None:
        ...

    async def stop(self) -> None:
        ...

    def send(self, job: PushJob) -> asyncio.Future[JobResult]:
        """Queue a job; the future has its outcome. Jobs are sent in the order given."""

    def warm(self) -> None:
        """Get ready to send (start a process) before the first job, not when it comes."""


class InlineSender:
    """Pushes from the server's own loop, with the sender's bounded concurrency."""

    def __init__(self, config: SenderConfig) -> None:
        self._sender = PushSender(Vapid.from_text(config.vapid_key, config.vapid_subject),
                                  OutboundGuard(config.allow_private), config.concurrency)

    async def start(self) -> None:
        await self._sender.start()

    async def stop(self) -> None:
        await self._sender.stop()

    def send(self, job: PushJob) -> asyncio.Future[JobResult]:
        return self._sender.send(job)

    def warm(self) -> None:
        return None


@dataclass
class _Waiting:
    job: PushJob
    future: asyncio.Future[JobResult]


class _Child:
    """One sender process and the jobs it has not answered yet."""

    def __init__(self, index: int, config: SenderConfig) -> None:
        self.index = index
        self.config = config
        self.process: asyncio.subprocess.Process | None = None
        self.waiting: dict[int, _Waiting] = {}  # job id -> caller waiting for it
        self.reader_task: asyncio.Task[None] | None = None
        self.stopping = False
        # One start at a time, and jobs written in the order they were handed over (FIFO lock).
        self._lock = asyncio.Lock()

    async def ensure(self) -> asyncio.subprocess.Process:
        if self.process is None or self.process.returncode is not None:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "scoreboard.notify.worker",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**24,
            )
            assert self.process.stdin is not None
            self.process.stdin.write(encode(self.config))
            self.reader_task = asyncio.create_task(self._read(self.process), name=f"push-sender-{self.index}")
            log.info("push sender process %d started (pid %d)", self.index, self.process.pid)
        return self.process

    async def start(self) -> None:
        async with self._lock:
            await self.ensure()

    async def send(self, job: PushJob, future: asyncio.Future[JobResult]) -> None:
        self.waiting[job.job_id] = _Waiting(job, future)
        async with self._lock:
            process = await self.ensure()
            assert process.stdin is not None
            process.stdin.write(encode(job))
        try:
            await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the reader sees the exit and sends the job again

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while True:
            try:
                result: JobResult = await read_message(process.stdout)
            except (asyncio.IncompleteReadError, ConnectionResetError):
                break
            waiting = self.waiting.pop(result.job_id, None)
            if waiting is not None and not waiting.future.done():
                waiting.future.set_result(result)
        await process.wait()
        if self.stopping:
            return
        log.error("push sender process %d exited (code %s) with %d jobs unanswered: restarting it",
                  self.index, process.returncode, len(self.waiting))
        await asyncio.sleep(RESTART_DELAY)
        # Sent again from the start: some of these fans may get a push twice, none gets none.
        unanswered = list(self.waiting.values())
        self.waiting.clear()
        for waiting in unanswered:
            if not waiting.future.done():
                asyncio.ensure_future(self.send(waiting.job, waiting.future))

    async def stop(self) -> None:
        self.stopping = True
        process = self.process
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
        if self.reader_task is not None:
            self.reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader_task
        for waiting in self.waiting.values():
            if not waiting.future.done():
                waiting.future.cancel()


class ProcessSender:
    """Pushes from `processes` child processes, started when the first job comes.

    A subscription always goes to the same process (by a hash of its id), so its messages
    leave in order and a stale retry is recognised by the process that holds it.
    """

    def __init__(self, config: SenderConfig, processes: int = 1) -> None:
        self._children = [_Child(n, config) for n in range(processes)]
        self._next_id = 0

    async def start(self) -> None:
        return None  # lazily (warm): a server nobody subscribed to never starts a process

    def warm(self) -> None:
        for child in self._children:
            if child.process is None and not child.stopping:
                asyncio.ensure_future(child.start())

    async def stop(self) -> None:
        await asyncio.gather(*(child.stop() for child in self._children))

    def send(self, job: PushJob) -> asyncio.Future[JobResult]:
        loop = asyncio.get_running_loop()
        if len(self._children) == 1:
            parts = [job.targets]
        else:
            parts = [[] for _ in self._children]
            for target in job.targets:
                parts[zlib.crc32(target[0].encode()) % len(self._children)].append(target)
        futures = []
        for child, targets in zip(self._children, parts):
            if not targets:
                continue
            self._next_id += 1
            future: asyncio.Future[JobResult] = loop.create_future()
            asyncio.ensure_future(child.send(replace(job, job_id=self._next_id, targets=targets), future))
            futures.append(future)
        return asyncio.ensure_future(_merge(job.job_id, futures))


async def _merge(job_id: int, futures: list[asyncio.Future[JobResult]]) -> JobResult:
    merged = JobResult(job_id)
    for result in await asyncio.gather(*futures):
        merged.sent += result.sent
        merged.gone += result.gone
        merged.failed += result.failed
        merged.retries += result.retries
        merged.superseded += result.superseded
        merged.stale += result.stale
    return merged


def make_transport(config: SenderConfig, processes: int) -> PushTransport:
    if processes <= 0:
        return InlineSender(config)
    return ProcessSender(config, processes)
