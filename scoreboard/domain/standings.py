"""Fixtures and competitions: which day a match is on, the competitions, and live tables.

A table is computed per stage of a competition from its league-style matches: finished
matches count with their final score, live ones (marked `live`) with their current score, so
a group's table moves while its last matchday is played. Pure: the caller passes the matches.

Which stages are league-style (have a table):
- a stage whose name starts with a league word ("Group C", "Group Stage", "League Phase",
  "Regular Season", "Matchday 3", "Pool A", "Round Robin", "Conference"): always;
- matches without a stage: a competition that names no stages is a league;
- a stage named as a knockout round ("Final", "Semi-finals", "Round of 16", "Play-offs",
  "Third place"): never;
- any other name: when some team meets two or more different opponents in it (a knockout
  round pairs each team with one opponent, home and away legs included).

A stage whose teams fall into separate groups (StatsBomb's "Group Stage" holds all eight
World Cup groups) gets one table per group: teams linked by their fixtures, played or not,
form a group. Create every fixture of a stage and each group shows as it will end.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .model import Match, MatchState, name_slug

LEAGUE_PREFIXES = (
    "group", "league", "regular season", "matchday", "pool", "round robin", "round-robin",
    "conference", "division", "table",
)
KNOCKOUT_WORDS = (
    "final", "round of", "play-off", "playoff", "knockout", "third place", "3rd place",
    "eighth", "last 16", "last 32", "qualifier", "replay",
)
COUNTED = frozenset({"finished", "live", "half_time"})
LIVE = frozenset({"live", "half_time"})
Game = tuple[Match, MatchState]


def match_day(match: Match) -> str:
    """The UTC date (YYYY-MM-DD) a match is on: its kickoff, else when it was created."""
    moment = match.starts_at or match.created_at
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return moment[:10]
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).date().isoformat()


def competition_slug(match: Match) -> str | None:
    return name_slug(match.competition) if match.competition else None


def filter_games(games: Iterable[Game], competition: str | None = None, day: str | None = None) -> list[Game]:
    """The games of one competition (by slug) and/or on one UTC day, in the given order."""
    return [
        (match, state) for match, state in games
        if (competition is None or competition_slug(match) == competition)
        and (day is None or match_day(match) == day)
    ]


def is_league_stage(stage: str | None, matches: Sequence[Match]) -> bool:
    """Whether a stage has a table (see the module docstring for the rule)."""
    name = " ".join((stage or "").lower().split())
    if not name:
        return True
    if name.startswith(LEAGUE_PREFIXES):
        return True
    if any(word in name for word in KNOCKOUT_WORDS):
        return False
    opponents: dict[str, set[str]] = {}
    for match in matches:
        opponents.setdefault(match.home, set()).add(match.away)
        opponents.setdefault(match.away, set()).add(match.home)
    return any(len(met) >= 2 for met in opponents.values())


@dataclass
class Row:
    """One team's line in a table."""

    team: str
    played: int = 0
    won: int = 0
    drawn: int = 0
    lost: int = 0
    goals_for: int = 0
    goals_against: int = 0
    points: int = 0
    live: bool = False  # a match of this team counts with its current, unfinished score

    @property
    def goal_difference(self) -> int:
        return self.goals_for - self.goals_against

    def record(self, scored: int, conceded: int, table_points: tuple[int, int, int], live: bool) -> None:
        win, draw, loss = table_points
        self.played += 1
        self.goals_for += scored
        self.goals_against += conceded
        if scored > conceded:
            self.won, self.points = self.won + 1, self.points + win
        elif scored == conceded:
            self.drawn, self.points = self.drawn + 1, self.points + draw
        else:
            self.lost, self.points = self.lost + 1, self.points + loss
        self.live = self.live or live

    def to_dict(self, position: int) -> dict[str, Any]:
        return {
            "position": position, "team": self.team, "played": self.played, "won": self.won,
            "drawn": self.drawn, "lost": self.lost, "goals_for": self.goals_for,
            "goals_against": self.goals_against, "goal_difference": self.goal_difference,
            "points": self.points, "live": self.live,
        }


def table(games: Sequence[Game]) -> list[Row]:
    """The table of one stage: every team that has a match in it (unplayed ones with zeros),
    ordered by points, goal difference, goals for, then name."""
    rows: dict[str, Row] = {}
    for match, state in games:
        home = rows.setdefault(match.home, Row(match.home))
        away = rows.setdefault(match.away, Row(match.away))
        if state.status not in COUNTED:
            continue
        live = state.status in LIVE
        points = match.profile.table_points
        home.record(state.home, state.away, points, live)
        away.record(state.away, state.home, points, live)
    return sorted(rows.values(), key=lambda r: (-r.points, -r.goal_difference, -r.goals_for, r.team))


def groups(games: Sequence[Game]) -> list[list[Game]]:
    """The games split into groups of teams linked by fixtures, in the order of their first game."""
    parent: dict[str, str] = {}

    def root(team: str) -> str:
        while parent.setdefault(team, team) != team:
            parent[team] = parent[parent[team]]
            team = parent[team]
        return team

    for match, _ in games:
        parent[root(match.home)] = root(match.away)
    split: dict[str, list[Game]] = {}
    for game in games:
        split.setdefault(root(game[0].home), []).append(game)
    return list(split.values())


def standings(games: Sequence[Game]) -> list[dict[str, Any]]:
    """The tables of a competition's games: one per league-style stage (one per group when a
    stage holds separate groups), stages and groups in kickoff order."""
    stages: dict[str | None, list[Game]] = {}
    for game in sorted(games, key=lambda g: (g[0].starts_at or g[0].created_at, g[0].id)):
        stages.setdefault(game[0].stage, []).append(game)
    tables = []
    for stage, stage_games in stages.items():
        if not is_league_stage(stage, [match for match, _ in stage_games]):
            continue
        split = groups(stage_games)
        for number, group_games in enumerate(split, 1):
            rows = table(group_games)
            tables.append({
                "stage": stage,
                "group": number if len(split) > 1 else None,
                "live": any(state.status in LIVE for _, state in group_games),
                "played": sum(state.status == "finished" for _, state in group_games),
                "matches": len(group_games),
                "rows": [row.to_dict(position) for position, row in enumerate(rows, 1)],
            })
    return tables


def competitions(games: Iterable[Game]) -> list[dict[str, Any]]:
    """Every competition that has matches: slug, name, stages (in kickoff order), counts and
    the first and last match day; sorted by name."""
    found: dict[str, dict[str, Any]] = {}
    for match, state in sorted(games, key=lambda g: (g[0].starts_at or g[0].created_at, g[0].id)):
        slug = competition_slug(match)
        if slug is None:
            continue
        entry = found.setdefault(slug, {
            "slug": slug, "name": match.competition, "sports": [], "stages": [], "matches": 0,
            "live": 0, "finished": 0, "first_day": match_day(match), "last_day": match_day(match),
        })
        entry["matches"] += 1
        entry["live"] += state.status in LIVE
        entry["finished"] += state.status == "finished"
        entry["last_day"] = max(entry["last_day"], match_day(match))
        entry["first_day"] = min(entry["first_day"], match_day(match))
        if match.stage and match.stage not in entry["stages"]:
            entry["stages"].append(match.stage)
        if match.sport not in entry["sports"]:
            entry["sports"].append(match.sport)
    return sorted(found.values(), key=lambda c: (c["name"].lower(), c["slug"]))
