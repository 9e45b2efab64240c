"""A SQLite file written by the first release opens in this one with nothing lost."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from scoreboard.domain import EventDraft
from scoreboard.store.sqlite import SqliteStore
from scoreboard.store.sqlite_file import SCHEMA_VERSION

# The first release's tables, exactly as it created them.
FIRST_RELEASE_SCHEMA = """
CREATE TABLE matches (
    id TEXT PRIMARY KEY, home TEXT NOT NULL, away TEXT NOT NULL, starts_at TEXT,
    created_at TEXT NOT NULL, private INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL, period INTEGER NOT NULL, home_score INTEGER NOT NULL,
    away_score INTEGER NOT NULL, seq INTEGER NOT NULL, retracted TEXT NOT NULL
);
CREATE TABLE events (
    match_id TEXT NOT NULL REFERENCES matches(id), seq INTEGER NOT NULL, id TEXT NOT NULL,
    type TEXT NOT NULL, at TEXT NOT NULL, fields TEXT NOT NULL,
    PRIMARY KEY (match_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX events_by_client_id ON events (match_id, id);
"""


def first_release_file(path: Path) -> None:
    """A live match (kicked off, a goal, a retracted goal) and a finished one, as stored then."""
    conn = sqlite3.connect(path)
    conn.executescript(FIRST_RELEASE_SCHEMA)
    conn.execute("INSERT INTO matches VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                 ("old-live", "Reds", "Blues", "2026-01-10T15:00:00+00:00", "2026-01-01T10:00:00.000Z", 0,
                  "live", 1, 1, 0, 4, "[3]"))
    conn.execute("INSERT INTO matches VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                 ("old-done", "Greens", "Whites", None, "2026-01-02T10:00:00.000Z", 1,
                  "finished", 2, 0, 2, 6, "[]"))
    rows = [
        ("old-live", 1, "k1", "period_start", "2026-01-10T15:00:02.000Z", {}),
        ("old-live", 2, "g1", "goal", "2026-01-10T15:22:00.000Z", {"team": "home", "minute": 23}),
        ("old-live", 3, "g2", "goal", "2026-01-10T15:30:00.000Z", {"team": "away"}),
        ("old-live", 4, "r1", "retract", "2026-01-10T15:31:00.000Z", {"target": 3, "reason": "VAR"}),
        ("old-done", 1, "a", "goal", "2026-01-02T10:01:00.000Z", {"team": "away"}),
        ("old-done", 2, "b", "period_start", "2026-01-02T10:02:00.000Z", {}),
        ("old-done", 3, "c", "period_end", "2026-01-02T10:49:00.000Z", {"final": False}),
        ("old-done", 4, "d", "period_start", "2026-01-02T11:05:00.000Z", {"period": 2}),
        ("old-done", 5, "e", "points", "2026-01-02T11:30:00.000Z", {"team": "away", "value": 1}),
        ("old-done", 6, "f", "period_end", "2026-01-02T11:52:00.000Z", {"final": True}),
    ]
    conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?)",
                     [(m, s, i, t, a, json.dumps(f)) for m, s, i, t, a, f in rows])
    conn.commit()
    conn.close()


async def test_a_first_release_file_is_upgraded_in_place_without_losing_anything(tmp_path: Path) -> None:
    """Columns are added, states refolded (a clock for the live match, a winner for the
    finished one), every event and id kept, and the match takes new events at once."""
    path = tmp_path / "old.db"
    first_release_file(path)
    store = SqliteStore(path)
    await store.open()
    try:
        listed = {match.id: (match, state) for match, state in await store.list_matches()}
        live_match, live = listed["old-live"]
        assert (live_match.sport, live_match.competition, live_match.starts_at) == (
            "football", None, "2026-01-10T15:00:00+00:00")
        assert (live.status, live.score, live.retracted) == ("live", {"home": 1, "away": 0}, frozenset({3}))
        assert live.clock.running and live.clock.at == "2026-01-10T15:00:02.000Z" and live.clock.elapsed == 0
        done_match, done = listed["old-done"]
        assert done_match.private and done.winner == "away" and done.score == {"home": 0, "away": 2}
        assert not done.clock.running and done.clock.elapsed == 2700 + 47 * 60
        events = await store.events_since("old-live", 0)
        assert [(e.seq, e.id, e.type) for e in events] == [
            (1, "k1", "period_start"), (2, "g1", "goal"), (3, "g2", "goal"), (4, "r1", "retract")]
        repeat = await store.append("old-live", [EventDraft("goal", {"team": "home", "minute": 23}, "g1")])
        assert not repeat.created
        added = await store.append("old-live", [EventDraft("goal", {"team": "away"})])
        assert added.new_events[0].seq == 5 and added.new_events[0].fields["period"] == 1
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 11
    conn.close()


async def test_opening_again_changes_nothing(tmp_path: Path) -> None:
    """The upgrade runs once; a second open reads the same matches and states."""
    path = tmp_path / "old.db"
    first_release_file(path)
    views = []
    for _ in range(2):
        store = SqliteStore(path)
        await store.open()
        views.append(await store.list_matches())
        await store.close()
    assert views[0] == views[1]
