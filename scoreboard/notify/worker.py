"""The sender process: `python -m scoreboard.notify.worker`, started by `pool.ProcessSender`.

Why a process: a push costs ~95-150 µs of encryption (a fresh ECDH key per message;
cryptography holds the GIL throughout, so a thread would only take turns with the loop) and
~30 µs of HTTP client work (http1.py) plus the kernel's. 20,000 of them on the server's loop would sit between the ingest of the next
goal and its fan-out. Here they run at a lower priority (`nice`): on a shared core the kernel
hands the core back to the server the moment it has work, so fan-out does not wait for pushes.

It reads jobs from stdin and writes results to stdout (wire.py), logs to stderr, ignores
SIGINT/SIGTERM (the server stops it by closing stdin) and exits when stdin closes.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from ..logs import setup_logging
from .guard import OutboundGuard
from .sender import JobResult, PushJob, PushSender
from .vapid import Vapid
from .wire import SenderConfig, encode, read_message

log = logging.getLogger("scoreboard.notify.worker")


async def serve(reader: asyncio.StreamReader, out: int) -> None:
    config: SenderConfig = await read_message(reader)
    setup_logging(config.log_level, config.log_format)
    if config.nice:
        try:
            os.nice(config.nice)
        except OSError as exc:
            log.warning("cannot lower the sender process's priority: %s", exc)
    sender = PushSender(Vapid.from_text(config.vapid_key, config.vapid_subject),
                        OutboundGuard(config.allow_private), config.concurrency)
    await sender.start()
    loop = asyncio.get_running_loop()
    writer = _PipeWriter(out, loop)

    def report(done: asyncio.Future[JobResult]) -> None:
        if not done.cancelled():
            writer.write(encode(done.result()))

    try:
        while True:
            try:
                job: PushJob = await read_message(reader)
            except asyncio.IncompleteReadError:
                break  # the server closed the pipe: stop
            sender.send(job).add_done_callback(report)
    finally:
        await sender.stop()
        await writer.drain()


class _PipeWriter:
    """Blocking-free writes of results to the pipe (results are small and few)."""

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        os.set_blocking(fd, False)
        self._fd = fd
        self._loop = loop
        self._pending = bytearray()
        self._writing = False

    def write(self, data: bytes) -> None:
        self._pending += data
        self._flush()

    def _flush(self) -> None:
        while self._pending:
            try:
                written = os.write(self._fd, self._pending)
            except BlockingIOError:
                if not self._writing:
                    self._writing = True
                    self._loop.add_writer(self._fd, self._on_writable)
                return
            except BrokenPipeError:
                self._pending.clear()
                return
            del self._pending[:written]
        if self._writing:
            self._writing = False
            self._loop.remove_writer(self._fd)

    def _on_writable(self) -> None:
        self._flush()

    async def drain(self) -> None:
        for _ in range(100):
            if not self._pending:
                return
            await asyncio.sleep(0.01)


async def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Results go to the pipe the server reads; anything printed goes to stderr like the logs.
    out = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await serve(reader, out)


def run() -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


if __name__ == "__main__":
    run()
