"""Live tables, competitions and fixture days, as pure functions of matches and states."""
from __future__ import annotations

from scoreboard.domain import Match, MatchState, competitions, filter_games, is_league_stage, match_day, standings

CUP = "Test Cup 2026"


def game(home: str, away: str, score: tuple[int, int] | None, status: str = "finished",
         stage: str | None = "Group A", day: int = 1, sport: str = "football") -> tuple[Match, MatchState]:
    match = Match(f"{home}-{away}".lower(), home, away, starts_at=f"2026-06-{day:02d}T18:00:00Z",
                  competition=CUP, stage=stage, sport=sport)
    home_goals, away_goals = score or (0, 0)
    return match, MatchState(status=status if score else "scheduled", period=2 if score else 0,
                             home=home_goals, away=away_goals)


def rows(table: dict) -> list[tuple]:
    return [(r["team"], r["played"], r["won"], r["drawn"], r["lost"], r["goals_for"],
             r["goals_against"], r["goal_difference"], r["points"], r["live"]) for r in table["rows"]]


def test_a_group_table_counts_finished_and_live_matches_and_orders_them():
    """3/1/0 points; ties broken by goal difference then goals for; a live match counts with
    its current score and marks both teams live; an unplayed fixture lists its teams at 0."""
    games = [
        game("A", "B", (2, 0), day=1), game("C", "D", (1, 1), day=1),
        game("A", "C", (0, 1), day=5), game("B", "D", (3, 0), day=5),
        game("A", "D", (1, 0), status="live", day=9), game("B", "C", None, day=9),
    ]
    [table] = standings(games)
    assert table["stage"] == "Group A" and table["group"] is None and table["live"] is True
    assert (table["played"], table["matches"]) == (4, 6)
    assert rows(table) == [
        ("A", 3, 2, 0, 1, 3, 1, 2, 6, True),
        ("C", 2, 1, 1, 0, 2, 1, 1, 4, False),
        ("B", 2, 1, 0, 1, 3, 2, 1, 3, False),
        ("D", 3, 0, 1, 2, 1, 5, -4, 1, True),
    ]
    assert [r["position"] for r in table["rows"]] == [1, 2, 3, 4]


def test_knockout_rounds_have_no_table_and_scheduled_or_abandoned_matches_do_not_count():
    """A Final or Round of 16 is not a table; group matches not yet played count nothing."""
    games = [game("A", "B", (1, 0), stage="Final"), game("C", "D", (2, 2), stage="Round of 16"),
             game("E", "F", (3, 0), status="abandoned", stage="Group B")]
    [table] = standings(games)
    assert table["stage"] == "Group B" and all(r["played"] == 0 for r in table["rows"])


def test_a_stage_holding_several_groups_gets_one_table_per_group():
    """StatsBomb's "Group Stage" holds every group: teams linked by fixtures form a group."""
    games = [game("A", "B", (1, 0), stage="Group Stage"), game("C", "D", (0, 0), stage="Group Stage", day=2),
             game("A", "E", None, stage="Group Stage", day=3)]
    tables = standings(games)
    assert [(t["group"], sorted(r["team"] for r in t["rows"])) for t in tables] == [
        (1, ["A", "B", "E"]), (2, ["C", "D"])]


def test_league_style_stages():
    """Group-like names always, knockout names never, else a team meeting two opponents."""
    a_b, b_c = Match("x", "A", "B"), Match("y", "B", "C")
    assert is_league_stage("Group C", [a_b]) and is_league_stage(None, [a_b])
    assert is_league_stage("League Phase", []) and is_league_stage("Regular Season", [])
    assert not is_league_stage("Final", [a_b, b_c]) and not is_league_stage("Semi-finals", [a_b, b_c])
    assert not is_league_stage("Round of 16", [a_b])
    assert is_league_stage("Second round", [a_b, b_c]) and not is_league_stage("Second round", [a_b])


def test_basketball_tables_give_two_points_a_win_and_one_a_loss():
    """FIBA group tables: 2 for a win, 1 for a loss."""
    [table] = standings([game("A", "B", (80, 75), sport="basketball")])
    assert [(r["team"], r["points"]) for r in table["rows"]] == [("A", 2), ("B", 1)]


def test_competitions_and_fixture_filters():
    """Competitions list slug, stages in kickoff order and counts; games filter by slug and UTC day."""
    games = [game("A", "B", (1, 0), stage="Group A", day=1), game("C", "D", (0, 0), "live", stage="Final", day=3),
             (Match("friendly", "X", "Y", starts_at="2026-06-01T23:30:00-02:00"), MatchState())]
    [cup] = competitions(games)
    assert (cup["slug"], cup["name"], cup["stages"], cup["matches"], cup["live"], cup["finished"]) == (
        "test-cup-2026", CUP, ["Group A", "Final"], 2, 1, 1)
    assert (cup["first_day"], cup["last_day"]) == ("2026-06-01", "2026-06-03")
    assert match_day(games[2][0]) == "2026-06-02"  # 23:30 at UTC-2 is the next day in UTC
    assert [m.id for m, _ in filter_games(games, competition="test-cup-2026")] == ["a-b", "c-d"]
    assert [m.id for m, _ in filter_games(games, day="2026-06-02")] == ["friendly"]
