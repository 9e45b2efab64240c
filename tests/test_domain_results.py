"""Shootouts, winners, statuses fans read, and the public view of a match."""
from __future__ import annotations

import pytest

from domain_support import Game, draft
from scoreboard.domain import BASKETBALL, FOOTBALL, Match, match_view, result_line, status_label
from scoreboard.errors import InvalidEvent, NotInPlay


def final_to_penalties() -> Game:
    """Argentina 3-3 France after extra time, then the shootout as it was taken."""
    game = Game()
    goals = {1: ("home", "home"), 2: ("away", "away"), 3: ("home",), 4: ("away",)}
    for period, start in ((1, 0), (2, 3600), (3, 7000), (4, 8000)):
        game.event("period_start", t=start, period=period)
        for n, team in enumerate(goals[period], 1):
            game.event("goal", t=start + 60 * n, team=team)
        game.event("period_end", t=start + 1000)
    game.event("period_start", t=9500, period=5)
    for team, scored in (("away", True), ("home", True), ("away", False), ("home", True),
                         ("away", False), ("home", True), ("away", True), ("home", True)):
        game.event("shootout_kick", t=9600, team=team, scored=scored, player=f"{team} taker")
    return game


def test_the_shootout_has_its_own_tally_and_never_changes_the_score():
    """3-3 stays 3-3; the shootout counts 4-2 with every kick in order; the winner is the
    shootout's and the match was decided on penalties."""
    game = final_to_penalties()
    assert game.state.score == {"home": 3, "away": 3}
    shootout = game.state.shootout
    assert shootout is not None and (shootout.home, shootout.away) == (4, 2) and shootout.after_period == 4
    assert [k.scored for k in shootout.kicks] == [True, True, False, True, False, True, True, True]
    assert game.state.status == "live" and game.state.winner is None
    game.event("period_end", t=9900, final=True)
    assert game.state.winner == "home"
    view = match_view(Match("arg-fra", "Argentina", "France"), game.state)
    assert (view["winner"], view["decided_by"], view["status_label"]) == ("home", "penalties", "Pens")
    assert view["result"] == "Argentina win 4–2 on penalties"
    assert game.refold() == game.state


def test_ending_the_shootout_ends_the_match():
    """Period 5 is football's last: its end finishes the match even without final: true."""
    game = final_to_penalties()
    game.event("period_end", t=9900)
    assert game.state.status == "finished"


def test_retracting_a_kick_takes_it_out_of_the_shootout():
    """A kick recorded in error and retracted no longer counts, in the tally or the list."""
    game = final_to_penalties()
    last = game.log[-1]
    game.event("retract", t=9700, target=last.seq)
    assert (game.state.shootout.home, game.state.shootout.away) == (3, 2)
    assert last.seq not in [k.seq for k in game.state.shootout.kicks]
    assert game.refold() == game.state


def test_retracting_the_final_whistle_reopens_the_shootout():
    """Retracting period_end (final) of a shootout: live again, no winner, kicks kept."""
    game = final_to_penalties()
    whistle = game.event("period_end", t=9900, final=True)
    game.event("retract", t=9910, target=whistle.seq)
    assert game.state.status == "live" and game.state.winner is None
    assert game.state.shootout.home == 4
    game.event("shootout_kick", t=9920, team="away", scored=True)
    assert game.state.shootout.away == 3


def test_kicks_outside_a_shootout_and_goals_inside_one_are_refused():
    """A kick before period 5 and a goal during it are NotInPlay; a card in it is fine."""
    game = Game()
    game.event("period_start", t=0)
    with pytest.raises(NotInPlay):
        game.event("shootout_kick", t=1, team="home", scored=True)
    game.event("period_end", t=2700)
    game.event("period_start", t=3000, period=5)
    assert game.state.shootout is not None and game.state.shootout.after_period == 1
    with pytest.raises(NotInPlay):
        game.event("goal", t=3001, team="home")
    game.event("card", t=3002, team="home", color="yellow", player="Martínez")
    with pytest.raises(NotInPlay):
        game.event("clock", t=3003, action="start")


def test_football_has_no_sixth_period():
    """Football's periods are 1-5; asking for 6 is refused with the range."""
    game = Game()
    with pytest.raises(InvalidEvent, match="periods 1 to 5"):
        game.event("period_start", period=6)


@pytest.mark.parametrize("script, label, winner, decided", [
    ([("period_start", {})], "1st half", None, None),
    ([("period_start", {}), ("period_end", {})], "Half time", None, None),
    ([("period_start", {"period": 2})], "2nd half", None, None),
    ([("period_start", {"period": 2}), ("period_end", {})], "End of normal time", None, None),
    ([("period_start", {"period": 3})], "Extra time", None, None),
    ([("period_start", {"period": 3}), ("period_end", {})], "Extra time half time", None, None),
    ([("period_start", {"period": 4})], "Extra time", None, None),
    ([("period_start", {"period": 5})], "Penalties", None, None),
    ([("period_start", {"period": 2}), ("goal", {"team": "away"}), ("period_end", {"final": True})],
     "Full time", "away", "normal_time"),
    ([("period_start", {"period": 4}), ("period_end", {"final": True})], "AET", "draw", "extra_time"),
    ([("status", {"status": "postponed"})], "Postponed", None, None),
    ([("status", {"status": "abandoned"})], "Abandoned", None, None),
])
def test_football_statuses_read_as_fans_read_them(script, label, winner, decided):
    """Each moment of a football match has its label, winner and decided_by."""
    game = Game()
    for kind, fields in script:
        game.post(draft(kind, **fields))
    view = match_view(Match("m", "A", "B"), game.state)
    assert (view["status_label"], view["winner"], view["decided_by"]) == (label, winner, decided)


@pytest.mark.parametrize("script, label, decided", [
    ([("period_start", {})], "Q1", None),
    ([("period_start", {}), ("period_end", {})], "End of Q1", None),
    ([("period_start", {"period": 2}), ("period_end", {})], "Half time", None),
    ([("period_start", {"period": 5})], "OT", None),
    ([("period_start", {"period": 6})], "2OT", None),
    ([("period_start", {"period": 4}), ("points", {"team": "home", "value": 2}), ("period_end", {"final": True})],
     "Final", "normal_time"),
    ([("period_start", {"period": 5}), ("points", {"team": "home", "value": 2}), ("period_end", {"final": True})],
     "Final/OT", "overtime"),
])
def test_basketball_statuses(script, label, decided):
    """Quarters, breaks and overtimes read as on ESPN; there is no shootout."""
    game = Game(BASKETBALL)
    for kind, fields in script:
        game.post(draft(kind, **fields))
    view = match_view(Match("m", "A", "B", sport="basketball"), game.state)
    assert (view["status_label"], view["decided_by"]) == (label, decided)
    assert view["shootout"] is None and view["countdown"] is True


def test_the_view_carries_everything_a_page_needs():
    """Fixture fields, labels, the clock, the board, and each period's clock bounds."""
    game = Game()
    game.event("period_start", t=0)
    game.event("added_time", t=2700, minutes=7)
    match = Match("arg-fra", "Argentina", "France", starts_at="2022-12-18T15:00:00Z",
                  competition="FIFA World Cup 2022", stage="Final", venue="Lusail Stadium")
    view = match_view(match, game.state)
    assert view["competition_slug"] == "fifa-world-cup-2022"
    assert view["clock"] == {"running": True, "elapsed": 0.0, "at": "2022-12-18T15:00:00.000Z"}
    assert view["added_time"] == 7 and view["period_name"] == "1st half"
    assert [(p["period"], p["start"], p["end"], p["break"]) for p in view["periods"]] == [
        (1, 0, 2700, "Half time"), (2, 2700, 5400, "End of normal time"),
        (3, 5400, 6300, "Extra time half time"), (4, 6300, 7200, "End of extra time"),
        (5, 7200, 7200, None),
    ]
    assert status_label(FOOTBALL, game.state) == "1st half"


def test_result_lines():
    """The line under a finished score."""
    def line(winner, decided, shootout=None):
        return result_line("Argentina", "France", {"winner": winner, "decided_by": decided, "shootout": shootout})
    assert line("away", "penalties", {"home": 2, "away": 4}) == "France win 4–2 on penalties"
    assert line("home", "extra_time") == "Argentina win after extra time"
    assert line("home", "normal_time") == "Argentina win"
    assert line("draw", "normal_time") == "Draw"
    assert line(None, None) is None


def test_a_shootout_after_a_score_that_is_not_level_decides_nothing():
    """If a correction leaves the score not level after a shootout, the score decides and the
    match reads as settled in the period before the shootout, not on penalties."""
    game = final_to_penalties()
    game.event("goal", t=9890, team="away", period=4, minute=119)  # a late entry of a missed goal
    game.event("period_end", t=9900, final=True)
    view = match_view(Match("arg-fra", "Argentina", "France"), game.state)
    assert (view["winner"], view["decided_by"], view["status_label"], view["result"]) == (
        "away", "extra_time", "AET", "France win after extra time")
