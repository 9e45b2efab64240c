"""The embedded default store: one SQLite file, written by one thread with group commit.

Why this shape:
- SQLite calls block, so they never run on the event loop: a single writer thread owns the
  connection and every statement goes through it.
- Appends are checked against an in-memory copy of each active match's log, on the loop, with
  no await between the check and the hand-off to the writer. So the check is atomic and
  appends to one match do not wait for each other's disk flush.
- The writer takes every job waiting in its queue into one transaction (group commit): many
  scorekeepers share one fsync, and a 2xx is still only sent after the commit returns.
- The writer holds the GIL as little as it can: rows are built and JSON-encoded on the loop, the
  appends of a group go to SQLite in one executemany per table, and the loop is woken once per
  group. Every statement step hands the GIL back and forth with the busy loop thread, and on
  one core each hand-off is a context switch.
- The process that opens the file owns it: several processes on one file would each have their
  own in-memory copy, which is why WEB_CONCURRENCY > 1 is refused on this store.
- A file written by an older version is upgraded in place when opened (`sqlite_file.migrate`).
"""
from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..domain import (
    Acceptance, Event, EventDraft, Known, Match, MatchState, NeedsFullLog, accept, fold, references,
)
from ..errors import MatchExists, MatchNotFound, StoreUnavailable
from .base import Committed, CommitListener
from .lockfile import FileLock
from .sqlite_file import (
    INSERT_EVENTS, MATCH_COLUMNS, SCHEMA, UPDATE_STATE, EventRow, StateRow, migrate, row_to_match,
    state_row,
)

log = logging.getLogger(__name__)

# Jobs taken into one transaction at most: bounds the latency one commit can add.
GROUP_COMMIT_LIMIT = 512


@dataclass
class _MatchRecord:
    """An active match: its whole log in memory (a match has hundreds of events, not millions)."""

    match: Match
    log: list[Event]
    by_id: dict[str, Event]
    pending: MatchState  # after every accepted event, committed or not: what new drafts see
    committed: MatchState  # after every durable event: what readers see
    generation: int
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)


@dataclass
class _WriteJob:
    """One transaction slot; `done` runs on the loop with None or the error.

    An append carries its rows, ready-made on the loop (`statements` is None), so that a group
    of appends becomes one executemany per table; anything else carries `statements`.
    """

    statements: Callable[[sqlite3.Connection], None] | None
    done: Callable[[BaseException | None], None]
    match_id: str = ""
    generation: int = 0
    event_rows: list[EventRow] = field(default_factory=list)
    state_row: StateRow | None = None

    def run(self, conn: sqlite3.Connection) -> None:
        if self.statements is not None:
            self.statements(conn)
            return
        conn.executemany(INSERT_EVENTS, self.event_rows)
        if self.state_row is not None:
            conn.execute(UPDATE_STATE, self.state_row)


@dataclass
class _ReadJob:
    query: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]


class SqliteStore:
    """EventStore on one SQLite file; see the module docstring for the design."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._jobs: queue.SimpleQueue[_WriteJob | _ReadJob | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._records: dict[str, _MatchRecord] = {}  # match id -> active match
        self._loading: dict[str, asyncio.Future[_MatchRecord]] = {}
        self._generation = 0
        self._listeners: list[CommitListener] = []
        self._lock: FileLock | None = None  # held while open: one process per file (lockfile.py)

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Raises StoreInUse when another process (or store) has the file open."""
        self._loop = asyncio.get_running_loop()
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(self._path)
            self._lock.acquire()
        started: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._run_writer, args=(started,), name="sqlite-writer", daemon=True,
        )
        self._thread.start()
        try:
            await started
        except BaseException:
            self._thread = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None
            raise

    async def close(self) -> None:
        if self._thread is None:
            return
        self._jobs.put(None)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        self._thread = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    async def ready(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def add_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def forget(self, match_id: str) -> bool:
        """Drop a match's in-memory log (loaded again from the file when next used), unless
        an append of it is not yet durable or a reader waits on it."""
        record = self._records.get(match_id)
        if record is None:
            return match_id not in self._loading
        if record.waiters or record.pending.seq != record.committed.seq:
            return False
        del self._records[match_id]
        return True

    # -- reads -------------------------------------------------------------------------------

    async def get(self, match_id: str) -> tuple[Match, MatchState]:
        record = await self._record(match_id)
        return record.match, record.committed

    async def list_matches(self, status: str | None = None) -> list[tuple[Match, MatchState]]:
        def query(conn: sqlite3.Connection) -> list[tuple[Match, MatchState]]:
            sql = f"SELECT {MATCH_COLUMNS} FROM matches"
            args: tuple[Any, ...] = ()
            if status:
                sql += " WHERE status = ?"
                args = (status,)
            rows = conn.execute(sql + " ORDER BY created_at DESC, id", args).fetchall()
            return [row_to_match(row) for row in rows]

        return await self._read(query)

    async def events_since(self, match_id: str, since: int, limit: int | None = None) -> list[Event]:
        record = await self._record(match_id)
        end = record.committed.seq
        start = max(0, since)
        if limit is not None:
            end = min(end, start + limit)
        return record.log[start:end]

    async def tail(self, match_id: str, count: int) -> list[Event]:
        record = await self._record(match_id)
        end = record.committed.seq
        return record.log[max(0, end - count):end]

    # -- writes ------------------------------------------------------------------------------

    async def create_match(self, match: Match) -> Match:
        exists = await self._read(
            lambda conn: conn.execute("SELECT 1 FROM matches WHERE id = ?", (match.id,)).fetchone()
        )
        if exists:
            raise MatchExists(f"match {match.id!r} already exists")
        state = MatchState()

        def statements(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO matches ({MATCH_COLUMNS}) VALUES ({', '.join('?' * 21)})",
                (match.id, match.home, match.away, match.starts_at, match.created_at,
                 int(match.private), match.sport, match.period_minutes, match.extra_minutes,
                 match.competition, match.stage, match.venue, *state_row(match.id, state)[:-1]),
            )

        try:
            await self._write(statements)
        except sqlite3.IntegrityError:
            raise MatchExists(f"match {match.id!r} already exists") from None
        return match

    async def append(self, match_id: str, drafts: list[EventDraft]) -> Acceptance:
        record = self._records.get(match_id) or await self._record(match_id)
        seqs, ids = references(drafts)
        known = Known(
            by_seq={seq: record.log[seq - 1] for seq in seqs if 0 < seq <= len(record.log)},
            by_id={cid: record.by_id[cid] for cid in ids if cid in record.by_id},
        )
        profile = record.match.profile
        try:
            acceptance = accept(record.pending, drafts, known, profile=profile)
        except NeedsFullLog:
            acceptance = accept(record.pending, drafts, known, log=record.log, profile=profile)
        new_events = acceptance.new_events
        if not new_events:
            # A pure retry: answer only once the original is durable, with the score it had then.
            last = max(e.seq for e, _ in acceptance.results)
            await self._wait_committed(record, last)
            return replace(acceptance, state=fold(record.log[:last], profile))
        record.log.extend(new_events)
        record.by_id.update((event.id, event) for event in new_events)
        record.pending = acceptance.state
        done: asyncio.Future[None] = self._loop_or_fail().create_future()
        rows = [(match_id, e.seq, e.id, e.type, e.at, json.dumps(dict(e.fields))) for e in new_events]

        def finished(error: BaseException | None) -> None:
            if error is None:
                self._on_committed(record, acceptance)
                done.set_result(None)
            else:
                self._forget(record, error)
                done.set_exception(StoreUnavailable("the event could not be stored; retry"))

        self._jobs.put(_WriteJob(
            None, finished, match_id, record.generation, rows, state_row(match_id, acceptance.state),
        ))
        await done
        return acceptance

    # -- internals on the loop ---------------------------------------------------------------

    def _loop_or_fail(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._thread is None:
            raise StoreUnavailable("the store is not open")
        return self._loop

    async def _read(self, query: Callable[[sqlite3.Connection], Any]) -> Any:
        future: asyncio.Future[Any] = self._loop_or_fail().create_future()
        self._jobs.put(_ReadJob(query, future))
        return await future

    async def _write(self, statements: Callable[[sqlite3.Connection], None]) -> None:
        future: asyncio.Future[None] = self._loop_or_fail().create_future()

        def done(error: BaseException | None) -> None:
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        self._jobs.put(_WriteJob(statements, done))
        await future

    async def _record(self, match_id: str) -> _MatchRecord:
        record = self._records.get(match_id)
        if record is not None:
            return record
        loading = self._loading.get(match_id)
        if loading is None:
            loading = asyncio.ensure_future(self._load(match_id))
            self._loading[match_id] = loading
            loading.add_done_callback(lambda _: self._loading.pop(match_id, None))
            loading.add_done_callback(_retrieve_failure)
        return await asyncio.shield(loading)

    async def _load(self, match_id: str) -> _MatchRecord:
        def query(conn: sqlite3.Connection) -> tuple[Any, list[Any]]:
            row = conn.execute(f"SELECT {MATCH_COLUMNS} FROM matches WHERE id = ?", (match_id,)).fetchone()
            events = conn.execute(
                "SELECT seq, id, type, at, fields FROM events WHERE match_id = ? ORDER BY seq",
                (match_id,),
            ).fetchall()
            return row, events

        row, rows = await self._read(query)
        if row is None:
            raise MatchNotFound(f"no match {match_id!r}")
        events = [Event(seq=r[0], id=r[1], type=r[2], at=r[3], fields=json.loads(r[4])) for r in rows]
        match = row_to_match(row)[0]
        state = fold(events, match.profile)
        self._generation += 1
        record = _MatchRecord(
            match=match, log=events, by_id={e.id: e for e in events},
            pending=state, committed=state, generation=self._generation,
        )
        self._records[match_id] = record
        return record

    async def _wait_committed(self, record: _MatchRecord, seq: int) -> None:
        if record.committed.seq >= seq:
            return
        waiter: asyncio.Future[None] = self._loop_or_fail().create_future()
        record.waiters.append((seq, waiter))
        await waiter

    def _on_committed(self, record: _MatchRecord, acceptance: Acceptance) -> None:
        record.committed = acceptance.state
        committed = Committed(record.match, acceptance)
        for listener in self._listeners:
            try:
                listener(committed)
            except Exception:
                log.exception("commit listener failed for match %s", record.match.id)
        if not record.waiters:
            return
        still_waiting = []
        for seq, waiter in record.waiters:
            if seq <= record.committed.seq:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                still_waiting.append((seq, waiter))
        record.waiters = still_waiting

    def _forget(self, record: _MatchRecord, error: BaseException) -> None:
        """Drop a match whose write failed: its in-memory log ran ahead of the file."""
        log.error("write to %s failed for match %s: %s", self._path, record.match.id, error)
        if self._records.get(record.match.id) is record:
            del self._records[record.match.id]
        for _, waiter in record.waiters:
            if not waiter.done():
                waiter.set_exception(StoreUnavailable("the event could not be stored; retry"))
        record.waiters = []

    # -- the writer thread -------------------------------------------------------------------

    def _run_writer(self, started: asyncio.Future[None]) -> None:
        loop = self._loop
        assert loop is not None
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: in WAL mode, NORMAL may lose the last commits on power loss; a 2xx is a promise.
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(SCHEMA)
            migrate(conn, self._path)
        except sqlite3.Error as exc:
            loop.call_soon_threadsafe(_settle, started, StoreUnavailable(f"cannot open {self._path}: {exc}"), None)
            return
        loop.call_soon_threadsafe(_settle, started, None, None)
        failed: set[tuple[str, int]] = set()  # (match, generation) whose earlier write failed
        while True:
            job = self._jobs.get()
            if job is None:
                break
            batch = [job]
            while len(batch) < GROUP_COMMIT_LIMIT:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._jobs.put(None)  # finish this batch, then stop
                    break
                batch.append(more)
            writes = []
            for item in batch:
                if isinstance(item, _ReadJob):
                    _run_read(conn, item, loop)
                else:
                    writes.append(item)
            if writes:
                self._commit(conn, writes, failed, loop)
        conn.close()

    def _commit(
        self, conn: sqlite3.Connection, writes: list[_WriteJob],
        failed: set[tuple[str, int]], loop: asyncio.AbstractEventLoop,
    ) -> None:
        outcomes: list[BaseException | None] = []
        try:
            if failed and any((job.match_id, job.generation) in failed for job in writes):
                raise _Skip()
            conn.execute("BEGIN IMMEDIATE")
            _run_group(conn, writes)
            conn.execute("COMMIT")
            outcomes = [None] * len(writes)
        except Exception:
            # One bad job must not sink the others: redo them one transaction each.
            _rollback(conn)
            outcomes = []
            for job in writes:
                key = (job.match_id, job.generation)
                if key in failed:
                    outcomes.append(StoreUnavailable("an earlier write of this match failed"))
                    continue
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    job.run(conn)
                    conn.execute("COMMIT")
                    outcomes.append(None)
                except Exception as exc:
                    _rollback(conn)
                    if job.match_id:
                        failed.add(key)
                    outcomes.append(exc)
        loop.call_soon_threadsafe(_report, writes, outcomes)


def _run_group(conn: sqlite3.Connection, writes: list[_WriteJob]) -> None:
    """Every job's statements in queue order, consecutive appends merged into one executemany
    per table (a match's state row: only its latest, which the later append carries)."""
    event_rows: list[EventRow] = []
    state_rows: dict[str, StateRow] = {}  # match id -> its state after the group's appends

    def flush() -> None:
        if event_rows:
            conn.executemany(INSERT_EVENTS, event_rows)
            event_rows.clear()
        if state_rows:
            conn.executemany(UPDATE_STATE, state_rows.values())
            state_rows.clear()

    for job in writes:
        if job.statements is not None:
            flush()
            job.statements(conn)
            continue
        event_rows.extend(job.event_rows)
        if job.state_row is not None:
            state_rows[job.match_id] = job.state_row
    flush()


class _Skip(Exception):
    """Leaves the group transaction to redo its jobs one by one."""


def _report(writes: list[_WriteJob], outcomes: list[BaseException | None]) -> None:
    for job, outcome in zip(writes, outcomes):
        job.done(outcome)


def _settle(future: asyncio.Future[Any], error: BaseException | None, value: Any) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)


def _run_read(conn: sqlite3.Connection, job: _ReadJob, loop: asyncio.AbstractEventLoop) -> None:
    try:
        value = job.query(conn)
    except Exception as exc:
        loop.call_soon_threadsafe(_settle, job.future, exc, None)
    else:
        loop.call_soon_threadsafe(_settle, job.future, None, value)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _retrieve_failure(task: asyncio.Future[Any]) -> None:
    """Every caller of a shared load may have gone (a fan hung up): its failure (MatchNotFound
    for an unknown id) was theirs, not a loop warning with a traceback in the log."""
    if not task.cancelled():
        task.exception()
