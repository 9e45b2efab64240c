"""Logging to stdout, as platforms collect it: plain text, or one JSON object per line."""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import TextIO

# Lines held for one loop iteration at most; past this many they are written at once, so a
# burst logged without yielding to the loop cannot grow the buffer without bound.
MAX_PENDING_LINES = 256


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "method", "path", "status", "duration_ms", "remote",
                    "transport", "close_code"):
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
    handler = LoopBatchingHandler(sys.stdout)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
