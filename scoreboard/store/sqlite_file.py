"""The embedded store's file: its tables, their rows, and the upgrade of older files.

A file written by an older version is upgraded in place when opened (`PRAGMA user_version`):
missing columns are added and every match's state is folded again from its log, in one
transaction, so a user upgrading loses nothing and old matches get a clock and labels.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from functools import lru_cache
from typing import Any

from ..domain import Clock, Event, Match, MatchState, Shootout, fold

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS matches (
    id TEXT PRIMARY KEY, home TEXT NOT NULL, away TEXT NOT NULL, starts_at TEXT,
    created_at TEXT NOT NULL, private INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL, period INTEGER NOT NULL, home_score INTEGER NOT NULL,
    away_score INTEGER NOT NULL, seq INTEGER NOT NULL, retracted TEXT NOT NULL,
    sport TEXT NOT NULL DEFAULT 'football', period_minutes INTEGER, extra_minutes INTEGER,
    competition TEXT, stage TEXT, venue TEXT, clock TEXT, added_time INTEGER, shootout TEXT
);
CREATE TABLE IF NOT EXISTS events (
    match_id TEXT NOT NULL REFERENCES matches(id), seq INTEGER NOT NULL, id TEXT NOT NULL,
    type TEXT NOT NULL, at TEXT NOT NULL, fields TEXT NOT NULL,
    PRIMARY KEY (match_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_by_client_id ON events (match_id, id);
"""
# PRAGMA user_version of a file this code has written; 0 is the first release's layout.
SCHEMA_VERSION = 2
# Columns added since the first release: (name, declaration), added to older files on open.
ADDED_COLUMNS = (
    ("sport", "TEXT NOT NULL DEFAULT 'football'"), ("period_minutes", "INTEGER"),
    ("extra_minutes", "INTEGER"), ("competition", "TEXT"), ("stage", "TEXT"), ("venue", "TEXT"),
    ("clock", "TEXT"), ("added_time", "INTEGER"), ("shootout", "TEXT"),
)
MATCH_COLUMNS = (
    "id, home, away, starts_at, created_at, private, sport, period_minutes, extra_minutes, "
    "competition, stage, venue, status, period, home_score, away_score, seq, retracted, "
    "clock, added_time, shootout"
)


EventRow = tuple[str, int, str, str, str, str]  # match_id, seq, id, type, at, fields JSON
# status, period, home, away, seq, retracted, clock, added_time, shootout, id
StateRow = tuple[str, int, int, int, int, str, str, int | None, str | None, str]
INSERT_EVENTS = "INSERT INTO events VALUES (?,?,?,?,?,?)"
UPDATE_STATE = (
    "UPDATE matches SET status=?, period=?, home_score=?, away_score=?, seq=?, retracted=?, "
    "clock=?, added_time=?, shootout=? WHERE id=?"
)


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring a file written by an older version up to SCHEMA_VERSION, in one transaction."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        have = {row[1] for row in conn.execute("PRAGMA table_info(matches)")}
        added = [name for name, _ in ADDED_COLUMNS if name not in have]
        for name, declaration in ADDED_COLUMNS:
            if name in added:
                conn.execute(f"ALTER TABLE matches ADD COLUMN {name} {declaration}")
        # States stored by older versions have no clock or shootout: fold each log again.
        rows = conn.execute(f"SELECT {MATCH_COLUMNS} FROM matches").fetchall()
        for row in rows:
            match = row_to_match(row)[0]
            events = [
                Event(seq=r[0], id=r[1], type=r[2], at=r[3], fields=json.loads(r[4]))
                for r in conn.execute(
                    "SELECT seq, id, type, at, fields FROM events WHERE match_id = ? ORDER BY seq",
                    (match.id,),
                )
            ]
            conn.execute(UPDATE_STATE, state_row(match.id, fold(events, match.profile)))
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if added:
        log.warning("upgraded %s to schema %d: added %s, refolded %d matches",
                    path, SCHEMA_VERSION, ", ".join(added), len(rows))


def state_row(match_id: str, state: MatchState) -> StateRow:
    retracted = json.dumps(sorted(state.retracted)) if state.retracted else "[]"
    clock_json = _clock_json(state.clock)
    shootout = None if state.shootout is None else json.dumps(state.shootout.to_dict())
    return (state.status, state.period, state.home, state.away, state.seq, retracted,
            clock_json, state.added_time, shootout, match_id)


@lru_cache(maxsize=1024)
def _clock_json(clock: Clock) -> str:
    """A clock's column text, made once per clock value: most events leave the clock as it was."""
    return json.dumps(clock.to_dict())


def row_to_match(row: Any) -> tuple[Match, MatchState]:
    (match_id, home, away, starts_at, created_at, private, sport, period_minutes, extra_minutes,
     competition, stage, venue, status, period, home_score, away_score, seq, retracted,
     clock, added_time, shootout) = row
    match = Match(id=match_id, home=home, away=away, starts_at=starts_at,
                  created_at=created_at, private=bool(private), sport=sport or "football",
                  period_minutes=period_minutes, extra_minutes=extra_minutes,
                  competition=competition, stage=stage, venue=venue)
    state = MatchState(status=status, period=period, home=home_score, away=away_score, seq=seq,
                       retracted=frozenset(json.loads(retracted)),
                       clock=Clock.from_dict(json.loads(clock) if clock else None),
                       added_time=added_time,
                       shootout=Shootout.from_dict(json.loads(shootout) if shootout else None))
    return match, state
