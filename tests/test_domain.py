"""The score rules as pure functions: no server, no store."""
from __future__ import annotations

import pytest

from domain_support import draft, run
from scoreboard.domain import BASKETBALL, FOOTBALL, Event, MatchState, SportProfile, fold
from scoreboard.errors import IdConflict, InvalidEvent, MatchClosed, NotInPlay, SeqConflict


def play(*drafts, profile: SportProfile = FOOTBALL):
    """Accept drafts one at a time and return (log, state)."""
    log: list[Event] = []
    state = MatchState()
    for d in drafts:
        acceptance = run([d], state, log, profile)
        log.extend(acceptance.new_events)
        state = acceptance.state
    return log, state


def test_goals_raise_the_scoring_side_and_number_events_without_gaps():
    """Each accepted event gets the next seq; goals count for the side named in `team`."""
    log, state = play(draft("period_start"), draft("goal", team="home"), draft("goal", team="away"),
                      draft("goal", team="home", own_goal=True))
    assert [e.seq for e in log] == [1, 2, 3, 4]
    assert state.score == {"home": 2, "away": 1}
    assert state.status == "live" and state.period == 1
    assert fold(log, FOOTBALL) == state


def test_points_add_their_value():
    """Sports scored in points add `value`."""
    _, state = play(draft("period_start"), draft("points", team="away", value=3),
                    draft("points", team="away", value=2), profile=BASKETBALL)
    assert state.score == {"home": 0, "away": 5}


def test_retracting_a_goal_recomputes_the_score():
    """A disallowed goal no longer counts, and the fold of the log agrees."""
    log, state = play(draft("period_start"), draft("goal", team="home", client_id="g1"),
                      draft("goal", team="away"), draft("retract", target_id="g1"))
    assert state.score == {"home": 0, "away": 1}
    assert state.retracted == {2}
    assert log[-1].fields["target"] == 2
    assert fold(log, FOOTBALL) == state


def test_retracting_a_period_end_reopens_the_match():
    """Undoing a status change refolds the whole log."""
    log, state = play(draft("period_start"), draft("period_end", final=True))
    assert state.status == "finished"
    state2 = run([draft("retract", target=2)], state, log).state
    assert state2.status == "live"


def test_closed_match_refuses_play_but_takes_corrections_and_notices():
    """A finished match answers goals with MatchClosed; retract and notification still work."""
    log, state = play(draft("period_start"), draft("goal", team="home"), draft("period_end", final=True))
    with pytest.raises(MatchClosed):
        run([draft("goal", team="away")], state, log)
    assert run([draft("notification", title="Thanks", text="", level="info")], state, log).created
    assert run([draft("retract", target=2)], state, log).state.score == {"home": 0, "away": 0}


def test_bad_retracts_are_rejected():
    """Unknown targets, retracts of retracts and double retracts are refused."""
    log, state = play(draft("period_start"), draft("goal", team="home"), draft("retract", target=2))
    for bad in (draft("retract", target=99), draft("retract", target=3), draft("retract", target=2)):
        with pytest.raises(InvalidEvent):
            run([bad], state, log)


def test_expected_seq_detects_a_race():
    """expected_seq must equal the log's seq just before the event."""
    log, state = play(draft("period_start"))
    assert run([draft("goal", expected_seq=1, team="home")], state, log).state.seq == 2
    with pytest.raises(SeqConflict):
        run([draft("goal", expected_seq=0, team="home")], state, log)


def test_retry_with_same_id_is_a_repeat_and_different_body_is_a_conflict():
    """Idempotency: same id + same event adds nothing; same id + other event is refused."""
    log, state = play(draft("period_start"), draft("goal", client_id="x", team="home"))
    repeat = run([draft("goal", client_id="x", team="home")], state, log)
    assert not repeat.created and repeat.results[0][0].seq == 2
    with pytest.raises(IdConflict):
        run([draft("goal", client_id="x", team="away")], state, log)


def test_a_batch_is_all_or_nothing():
    """One bad event in a batch rejects the whole batch."""
    log, state = play(draft("period_start"))
    with pytest.raises(InvalidEvent):
        run([draft("goal", team="home"), draft("retract", target=42)], state, log)
    assert state.seq == 1


def test_period_rules():
    """A period cannot start while one is running, nor end when none is."""
    _, state = play(draft("period_start"))
    with pytest.raises(InvalidEvent):
        run([draft("period_start")], state)
    with pytest.raises(InvalidEvent):
        run([draft("period_end")], MatchState())


@pytest.mark.parametrize("kind, fields", [
    ("goal", {"team": "home"}), ("card", {"team": "away", "color": "yellow"}),
    ("substitution", {"team": "home", "player_in": "A", "player_out": "B"}),
    ("shootout_kick", {"team": "home", "scored": True}), ("clock", {"action": "start"}),
    ("added_time", {"minutes": 3}),
])
def test_play_before_kickoff_is_refused_with_what_to_send_first(kind, fields):
    """A goal (card, substitution, kick, clock, board) on a scheduled match is NotInPlay (409),
    and the message names the event to send first."""
    with pytest.raises(NotInPlay) as refused:
        run([draft(kind, **fields)])
    assert refused.value.status == 409
    assert "period_start" in refused.value.message


def test_a_goal_in_the_break_is_a_late_entry_of_the_period_just_ended():
    """Between periods a goal is accepted (the whistle came before the scorekeeper's press) and
    belongs to the period that ended; the clock stands where the period ended."""
    log, state = play(draft("period_start"), draft("period_end"), draft("goal", team="away"))
    assert state.status == "half_time" and state.score == {"home": 0, "away": 1}
    assert log[-1].fields["period"] == 1


def test_sport_specific_events_are_refused_elsewhere():
    """Football scores with goals, basketball with points of 1, 2 or 3: anything else is 422."""
    _, football = play(draft("period_start"))
    with pytest.raises(InvalidEvent, match="football scores with goal"):
        run([draft("points", team="home", value=2)], football)
    _, basketball = play(draft("period_start"), profile=BASKETBALL)
    with pytest.raises(InvalidEvent, match="basketball scores with points"):
        run([draft("goal", team="home")], basketball, profile=BASKETBALL)
    for kind, fields in (("card", {"team": "home", "color": "red"}), ("added_time", {"minutes": 2}),
                         ("shootout_kick", {"team": "home", "scored": True})):
        with pytest.raises(InvalidEvent, match="basketball has no"):
            run([draft(kind, **fields)], basketball, profile=BASKETBALL)
    with pytest.raises(InvalidEvent) as refused:
        run([draft("points", team="home", value=4)], basketball, profile=BASKETBALL)
    assert refused.value.fields == {"value": ["must be one of 1, 2, 3"]}


def test_state_after_each_event_is_reported():
    """`after` lists the state right after each new event (what fans are sent)."""
    acceptance = run([draft("period_start"), draft("goal", team="home"), draft("goal", team="home")])
    assert [s.home for s in acceptance.after] == [0, 1, 2]


def test_a_retry_of_a_stamped_goal_is_a_repeat_and_a_changed_minute_a_conflict():
    """The server fills period, minute and label; a retry that leaves them out (or null) again
    is the same event, one that names another minute is not; other types compare whole."""
    log, state = play(draft("period_start"), draft("goal", client_id="g", team="home", minute=None))
    assert log[-1].fields["minute"] == 1 and log[-1].fields["minute_label"] == "1'"
    for retry in (draft("goal", client_id="g", team="home"), draft("goal", client_id="g", team="home", minute=None),
                  draft("goal", client_id="g", team="home", minute=1, period=1)):
        assert not run([retry], state, log).created
    with pytest.raises(IdConflict):
        run([draft("goal", client_id="g", team="home", minute=2)], state, log)
    log, state = play(draft("period_start", client_id="p", period=2))
    with pytest.raises(IdConflict):
        run([draft("period_start", client_id="p")], state, log)
