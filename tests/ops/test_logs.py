"""The stdout log handler: lines logged on the loop are written together, in order, and none is lost."""
from __future__ import annotations

import asyncio
import io
import logging
import json
import threading
import time

import pytest

from scoreboard.logs import MAX_PENDING_LINES, LoopBatchingHandler


class CountingStream(io.StringIO):
    """Counts write() calls: one per line is what the handler exists to avoid."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.fixture
def logged():
    stream = CountingStream()
    handler = LoopBatchingHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("scoreboard.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


async def test_lines_logged_in_one_loop_iteration_are_one_write(logged):
    """Three lines logged without yielding reach the stream in one write, on the next iteration."""
    logger, stream = logged
    for n in range(3):
        logger.info("line %d", n)
    assert stream.getvalue() == ""
    await asyncio.sleep(0)
    assert stream.getvalue() == "line 0\nline 1\nline 2\n"
    assert stream.writes == 1


async def test_arguments_are_read_when_logged(logged):
    """A mutable argument changed after the call is logged as it was at the call."""
    logger, stream = logged
    players = ["ada"]
    logger.info("players %s", players)
    players.append("grace")
    await asyncio.sleep(0)
    assert stream.getvalue() == "players ['ada']\n"


async def test_a_line_from_another_thread_is_written_at_once_after_the_held_ones(logged):
    """Off the loop a line is written at once, and the loop's held lines go first."""
    logger, stream = logged
    logger.info("on the loop")
    thread = threading.Thread(target=logger.info, args=("from a thread",))
    thread.start()
    thread.join()
    assert stream.getvalue() == "on the loop\nfrom a thread\n"


async def test_a_burst_without_yielding_is_bounded(logged):
    """Past MAX_PENDING_LINES held lines the handler writes instead of holding more."""
    logger, stream = logged
    for n in range(MAX_PENDING_LINES):
        logger.info("%d", n)
    assert stream.getvalue().count("\n") == MAX_PENDING_LINES


def test_lines_held_by_a_closed_loop_are_written_by_flush_and_the_next_loop(logged):
    """A loop closed before its write callback ran strands nothing: the next loop writes it."""
    logger, stream = logged
    loop = asyncio.new_event_loop()

    async def log_and_stop() -> None:
        logger.info("held")
        asyncio.get_running_loop().stop()

    loop.create_task(log_and_stop())
    loop.run_forever()  # stops in the iteration that logged: the write callback never runs
    loop.close()
    assert stream.getvalue() == ""

    async def log_again() -> None:
        logger.info("next")
        await asyncio.sleep(0)

    asyncio.run(log_again())
    assert stream.getvalue() == "held\nnext\n"


def test_flush_writes_what_is_held(logged):
    """logging.shutdown() flushes handlers at exit: a line held by a stopped loop is not lost."""
    logger, stream = logged
    loop = asyncio.new_event_loop()

    async def log_and_stop() -> None:
        logger.info("last words")
        asyncio.get_running_loop().stop()

    loop.create_task(log_and_stop())
    loop.run_forever()
    loop.close()
    assert stream.getvalue() == ""
    logger.handlers[0].flush()
    assert stream.getvalue() == "last words\n"


@pytest.mark.parametrize("created", [1764393600.0, 1764393600.999, 1764393601.0005, 1764393599.5])
def test_times_are_those_of_the_standard_formatters(created):
    """Rendering each second once changes no line: text lines carry logging's own asctime, JSON lines UTC."""
    from scoreboard.logs import JsonFormatter, TextFormatter

    text, json_formatter, plain = TextFormatter("%(asctime)s %(message)s"), JsonFormatter(), logging.Formatter("%(asctime)s %(message)s")
    for at in (created, created + 0.25, created + 1.0, created - 3600.0):  # repeats, a new second, an older one
        record = logging.makeLogRecord({"msg": "goal %s", "args": ("home",), "created": at, "msecs": (at % 1) * 1000})
        assert text.format(record) == plain.format(record)
        expected = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int((at % 1) * 1000):03d}Z"
        assert json.loads(json_formatter.format(record))["time"] == expected
