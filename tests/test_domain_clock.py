"""The match clock folded from the events' own instants, and the minutes fans read."""
from __future__ import annotations

import pytest

from domain_support import Game, at, draft
from scoreboard.domain import BASKETBALL, FOOTBALL, MatchState, clock_label, profile_for
from scoreboard.errors import InvalidEvent, NotInPlay


def test_period_start_starts_the_clock_at_the_periods_offset_and_period_end_stops_it():
    """Kick-off runs the clock from 0:00, the second half from 45:00; the whistle stops it
    where it stood (stoppage time included)."""
    game = Game()
    game.event("period_start", t=0)
    assert game.state.clock.running and game.state.clock.elapsed == 0 and game.state.clock.at == at(0)
    game.event("period_end", t=2700 + 7 * 60 + 3.5)
    assert not game.state.clock.running and game.state.clock.elapsed == 2700 + 423.5
    game.event("period_start", t=3600)
    assert game.state.clock.running and game.state.clock.elapsed == 2700.0 and game.state.clock.at == at(3600)
    assert game.state.clock.reading(at(3600 + 90)) == 2790
    assert game.refold() == game.state


def test_clock_stop_start_and_set_correct_the_running_clock():
    """stop freezes the reading, start resumes from it, set puts it anywhere (running or not)."""
    game = Game()
    game.event("period_start", t=0)
    game.event("clock", t=600, action="stop")
    assert game.state.clock == game.state.clock.__class__(False, 600.0, at(600))
    game.event("clock", t=660, action="start")
    assert game.state.clock.reading(at(700)) == 640
    game.event("clock", t=700, action="set", elapsed=1200)
    assert game.state.clock.running and game.state.clock.reading(at(730)) == 1230
    game.event("clock", t=730, action="stop")
    game.event("clock", t=740, action="set", elapsed=1000)
    assert not game.state.clock.running and game.state.clock.reading(at(9999)) == 1000
    assert game.refold() == game.state


def test_a_goal_without_minute_takes_it_from_the_clock_and_its_label_from_the_period():
    """22:14 on the clock is the 23rd minute; a goal at 47:30 in the first half reads 45+3'."""
    game = Game()
    game.event("period_start", t=0)
    early = game.event("goal", t=22 * 60 + 14, team="home")
    assert (early.fields["minute"], early.fields["period"], early.fields["minute_label"]) == (23, 1, "23'")
    late = game.event("goal", t=47 * 60 + 30, team="away")
    assert (late.fields["minute"], late.fields["minute_label"]) == (48, "45+3'")
    explicit = game.event("card", t=48 * 60, team="home", color="yellow", minute=52)
    assert explicit.fields["minute"] == 52 and explicit.fields["minute_label"] == "45+7'"


@pytest.mark.parametrize("period, minute, label", [
    (1, 23, "23'"), (1, 45, "45'"), (1, 47, "45+2'"), (1, 52, "45+7'"), (2, 46, "46'"), (2, 98, "90+8'"),
    (3, 106, "105+1'"), (4, 108, "108'"), (4, 123, "120+3'"), (None, 52, "52'"),
])
def test_minute_labels_as_football_shows_them(period, minute, label):
    """Minutes past their period's end show as end+over; without a known period, as given."""
    assert FOOTBALL.minute_label(period, minute) == label


def test_overridden_period_lengths_move_the_stoppage_boundary():
    """A youth match of 2 x 40 shows its 42nd first-half minute as 40+2' and restarts at 40:00."""
    youth = profile_for("football", 40, 10)
    assert youth.minute_label(1, 42) == "40+2'" and youth.period_start(2) == 2400
    assert youth.period_start(3) == 4800 and youth.period_end(4) == 6000


def test_added_time_is_the_board_of_the_current_period():
    """The fourth official's board is kept until the next period starts."""
    game = Game()
    game.event("period_start", t=0)
    game.event("added_time", t=2700, minutes=4)
    assert game.state.added_time == 4
    game.event("period_end", t=2990)
    assert game.state.added_time == 4
    game.event("period_start", t=3900)
    assert game.state.added_time is None
    game.event("period_end", t=6000)
    with pytest.raises(NotInPlay):
        game.event("added_time", t=6001, minutes=3)


def test_clock_starts_only_in_play_and_set_is_allowed_in_a_break():
    """A clock start between periods is NotInPlay; correcting the stopped reading is fine."""
    game = Game()
    game.event("period_start", t=0)
    game.event("period_end", t=2800)
    with pytest.raises(NotInPlay):
        game.event("clock", t=2810, action="start")
    game.event("clock", t=2820, action="set", elapsed=2795)
    assert game.state.clock.elapsed == 2795 and not game.state.clock.running


def test_retracting_a_clock_correction_restores_the_clock():
    """A wrong `set` retracted: the clock reads as if it was never sent (refolded)."""
    game = Game()
    game.event("period_start", t=0)
    wrong = game.event("clock", t=100, action="set", elapsed=5000)
    game.event("retract", t=110, target=wrong.seq)
    assert game.state.clock.reading(at(200)) == 200
    assert game.state == game.refold()


def test_retracting_a_period_start_restores_the_previous_clock():
    """Kicking off by mistake and retracting it leaves the match scheduled, clock at rest."""
    game = Game()
    kickoff = game.event("period_start", t=0)
    game.event("retract", t=5, target=kickoff.seq)
    assert game.state.status == "scheduled" and not game.state.clock.running
    assert game.state.clock.elapsed == 0


def test_basketball_counts_down_and_stops_at_zero():
    """Quarters start at 0, 10, 20, 30 minutes of game time; a quarter's clock cannot pass its
    end; points get `elapsed` and read as time left."""
    game = Game(BASKETBALL)
    game.event("period_start", t=0)
    basket = game.event("points", t=4 * 60 + 12, team="home", value=3)
    assert basket.fields["elapsed"] == 252 and basket.fields["minute_label"] == "Q1 5:48"
    game.event("period_end", t=900)  # the real time ran past the quarter: the clock stops at 10:00
    assert game.state.clock.elapsed == 600
    game.event("period_start", t=1000)
    assert game.state.clock.elapsed == 600 and game.state.period == 2


def test_basketball_clock_set_must_stay_inside_the_quarter():
    """Setting a countdown clock outside the current quarter is refused with the bounds."""
    game = Game(BASKETBALL)
    game.event("period_start", t=0, period=3)
    with pytest.raises(InvalidEvent) as refused:
        game.event("clock", t=10, action="set", elapsed=100)
    assert refused.value.fields == {"elapsed": ["must be between 1200 and 1800"]}
    game.event("clock", t=10, action="set", elapsed=1548)
    assert BASKETBALL.minute_label(3, None, 1548) == "Q3 4:12"


def test_clock_label_reads_the_clock_at_an_instant():
    """What a page shows at its first paint: the live minute, stoppage time included."""
    game = Game()
    game.event("period_start", t=0)
    assert clock_label(FOOTBALL, game.state, at(2700 + 130)) == "45+3'"
    game.event("period_end", t=2900)
    assert clock_label(FOOTBALL, game.state, at(3000)) is None
    assert clock_label(FOOTBALL, MatchState(), at(0)) is None


def test_the_fold_reads_no_clock_of_its_own():
    """The same log folds to the same state whenever it is folded (no wall clock inside)."""
    game = Game()
    game.post(draft("period_start"), draft("goal", team="home"), t=10)
    first = game.refold()
    assert first == game.refold() == game.state
    assert first.clock.at == at(10)
