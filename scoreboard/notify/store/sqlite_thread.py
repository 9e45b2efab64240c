"""One SQLite connection owned by one thread, with group commit: the notify store's engine.

Like the event store (store/sqlite.py): SQLite calls block, so they never run on the loop;
writes that queue up while a commit is on disk share the next transaction and its fsync, so
20,000 fans subscribing at kick-off are not 20,000 fsyncs in a row.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
GROUP_LIMIT = 256


@dataclass
class _Job:
    run: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    write: bool


class SqliteThread:
    """Runs callables against one connection in its thread; `write` ones inside a transaction."""

    def __init__(self, path: str, schema: str) -> None:
        self._path = path
        self._schema = schema
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        started: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(target=self._run, args=(started,), name="notify-sqlite", daemon=True)
        self._thread.start()
        await started

    async def close(self) -> None:
        if self._thread is None:
            return
        self._jobs.put(None)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        self._thread = None

    async def read(self, run: Callable[[sqlite3.Connection], Any]) -> Any:
        return await self._submit(run, write=False)

    async def write(self, run: Callable[[sqlite3.Connection], Any]) -> Any:
        return await self._submit(run, write=True)

    async def _submit(self, run: Callable[[sqlite3.Connection], Any], write: bool) -> Any:
        if self._loop is None or self._thread is None:
            raise RuntimeError("the notify store is not open")
        future: asyncio.Future[Any] = self._loop.create_future()
        self._jobs.put(_Job(run, future, write))
        return await future

    def _run(self, started: asyncio.Future[None]) -> None:
        loop = self._loop
        assert loop is not None
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a 201 for a subscription is a promise
            conn.executescript(self._schema)
        except sqlite3.Error as exc:
            loop.call_soon_threadsafe(_settle, started, RuntimeError(f"cannot open {self._path}: {exc}"), None)
            return
        loop.call_soon_threadsafe(_settle, started, None, None)
        while True:
            job = self._jobs.get()
            if job is None:
                break
            batch = [job]
            while len(batch) < GROUP_LIMIT:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._jobs.put(None)
                    break
                batch.append(more)
            self._run_batch(conn, batch, loop)
        conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job], loop: asyncio.AbstractEventLoop) -> None:
        writes = [job for job in batch if job.write]
        for job in batch:
            if not job.write:
                _answer(conn, job, loop)
        if not writes:
            return
        results: list[tuple[BaseException | None, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in writes:
                results.append((None, job.run(conn)))
            conn.execute("COMMIT")
        except Exception:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # One failing job must not sink the rest: each in its own transaction.
            results = []
            for job in writes:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    value = job.run(conn)
                    conn.execute("COMMIT")
                    results.append((None, value))
                except Exception as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    log.error("notify store write failed: %s", exc)
                    results.append((exc, None))
        for job, (error, value) in zip(writes, results):
            loop.call_soon_threadsafe(_settle, job.future, error, value)


def _answer(conn: sqlite3.Connection, job: _Job, loop: asyncio.AbstractEventLoop) -> None:
    try:
        value = job.run(conn)
    except Exception as exc:
        loop.call_soon_threadsafe(_settle, job.future, exc, None)
    else:
        loop.call_soon_threadsafe(_settle, job.future, None, value)


def _settle(future: asyncio.Future[Any], error: BaseException | None, value: Any) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
