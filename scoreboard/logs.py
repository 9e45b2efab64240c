"""Logging to stdout, as platforms collect it: plain text, or one JSON object per line."""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

# Lines held for one loop iteration at most; past this many they are written at once, so a
# burst logged without yielding to the loop cannot grow the buffer without bound.
MAX_PENDING_LINES = 256


class _SecondCache:
    """The text of one whole second, made once per second rather than once per line (a
    `strftime` per line showed in the ingest profile, where every request logs a line)."""

    def __init__(self, render: Callable[[int], str]) -> None:
        self._render = render
        self._second = -1
        self._text = ""

    def text(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._text = self._render(second)
            self._second = second
        return self._text


class TextFormatter(logging.Formatter):
    """logging.Formatter with the default time format (local time), each second rendered once."""

    default_msec_format = "%s,%03d"  # logging.Formatter's own, typed here as a str

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._seconds = _SecondCache(lambda second: time.strftime(self.default_time_format, self.converter(second)))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        return self.default_msec_format % (self._seconds.text(record.created), record.msecs)


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._seconds = _SecondCache(lambda second: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self._seconds.text(record.created) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "method", "path", "status", "duration_ms", "remote",
                    "transport", "close_code", "matches", "sent_bytes"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class LoopBatchingHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes the lines logged during one event-loop iteration together.

    Platforms run Python unbuffered (PYTHONUNBUFFERED=1), so a plain StreamHandler makes one
    write(2) per line: for the access log, one per request, about a sixth of an ingest
    request's CPU. Here a line logged on a running loop is formatted at once (the record is
    read while its arguments are as logged) and written by a callback the loop runs next,
    with every other line logged meanwhile. Off the loop, or with no loop running, a line is
    written at once, after any still held, so the order is kept and nothing waits on a loop
    that may never run again. `flush()` (called by logging.shutdown at exit) writes the rest.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._scheduled_on: asyncio.AbstractEventLoop | None = None  # loop that will write them

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._pending.append(self.format(record) + self.terminator)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is None or len(self._pending) >= MAX_PENDING_LINES:
                self.flush()
            elif self._scheduled_on is not loop:
                # Another loop's callback (one that was closed before running it) is no help.
                self._scheduled_on = loop
                loop.call_soon(self._write_pending)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _write_pending(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._scheduled_on = None
            try:
                self.flush()
            except Exception:
                self.handleError(logging.makeLogRecord({"msg": "writing log lines failed"}))

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._pending:
                text = "".join(self._pending)
                self._pending.clear()
                self.stream.write(text)
            super().flush()


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    # Neither format shows the caller, thread or process of a line: not looking them up saves
    # a few µs per line, and every request logs one (the logging HOWTO, "Optimization").
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # type: ignore[attr-defined]  # the HOWTO's switch for "no caller"
    handler = LoopBatchingHandler(sys.stdout)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


# A client's mistakes are logged once per this many seconds (the rest are counted).
CLIENT_LOG_PERIOD = 60.0
# Clients remembered at once; past it the stalest are forgotten (so, at worst, logged again).
CLIENT_LOG_MEMORY = 10_000


class ClientErrorLog:
    """Logs what a client did wrong at most once per client per `period`, with a count of what
    was held back since: a client that sends garbage in a loop cannot flood the log (each line
    would cost a write and, with a traceback, kilobytes), yet every misbehaving client shows.
    """

    def __init__(
        self, logger: logging.Logger, period: float = CLIENT_LOG_PERIOD,
        memory: int = CLIENT_LOG_MEMORY, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._period = period
        self._memory = memory
        self._clock = clock
        self._clients: dict[str, list[float]] = {}  # client -> [last logged at, held back since]

    def allow(self, client: str) -> int | None:
        """None when `client` was logged within the period (counted); else how many lines were
        held back since its last one, and the caller logs now."""
        now = self._clock()
        seen = self._clients.get(client)
        if seen is not None and now - seen[0] < self._period:
            seen[1] += 1
            return None
        held_back = int(seen[1]) if seen is not None else 0
        if seen is None and len(self._clients) >= self._memory:
            self._forget_stale(now)
        self._clients[client] = [now, 0]
        return held_back

    def note(self, client: str, message: str, *args: object, level: int = logging.INFO,
             exc_info: bool = False) -> None:
        """Log `message % args` for `client` unless it was logged within the period."""
        held_back = self.allow(client)
        if held_back is None:
            return
        suffix = f" ({held_back} more from this client not logged)" if held_back else ""
        self._log.log(level, "client %s: " + message + "%s", client, *args, suffix, exc_info=exc_info)

    def _forget_stale(self, now: float) -> None:
        stale = [client for client, (at, _) in self._clients.items() if now - at >= self._period]
        for client in stale:
            del self._clients[client]
        if len(self._clients) >= self._memory:  # all recent: drop the oldest half
            for client in list(self._clients)[: self._memory // 2]:
                del self._clients[client]


# One per process: the app's handlers and aiohttp's parser report to the same per-client budget.
CLIENT_ERRORS = ClientErrorLog(logging.getLogger("scoreboard.clients"))


class ParserErrorFilter(logging.Filter):
    """On aiohttp's server logger: a request that is not valid HTTP is logged once per client
    per minute (with the app's own client errors, CLIENT_ERRORS), without a traceback: it is
    the client's fault, not ours."""

    def __init__(self, clients: ClientErrorLog) -> None:
        super().__init__()
        self._clients = clients

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Error handling request"):
            return True
        error = record.exc_info[1] if record.exc_info else None
        status = getattr(error, "code", None) or getattr(error, "status", None)
        if not isinstance(status, int) or not 400 <= status < 500:
            return True  # a server-side failure: keep it whole
        client = str(record.args[0]) if isinstance(record.args, tuple) and record.args else "unknown"
        held_back = self._clients.allow(client)
        if held_back is None:
            return False
        record.msg = "client %s: not a valid HTTP request: %s%s"
        record.args = (client, error, f" ({held_back} more from this client not logged)" if held_back else "")
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.INFO, "INFO"
        return True


PARSER_ERROR_FILTER = ParserErrorFilter(CLIENT_ERRORS)


def quiet_parser_errors() -> None:
    """Install ParserErrorFilter on aiohttp's server logger (once per process)."""
    logger = logging.getLogger("aiohttp.server")
    if PARSER_ERROR_FILTER not in logger.filters:
        logger.addFilter(PARSER_ERROR_FILTER)
