"""Property tests: the event schemas take any JSON without crashing, the fold keeps the score,
the clock and the shootout honest, through retracts of anything."""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from marshmallow import ValidationError

from domain_support import at
from scoreboard import schemas
from scoreboard.domain import BASKETBALL, FOOTBALL, Event, EventDraft, Known, MatchState, SportProfile, accept, fold
from scoreboard.errors import ScoreboardError

PROFILES = st.sampled_from([FOOTBALL, BASKETBALL])
# Time between two batches, in whole milliseconds (the server's timestamps carry milliseconds).
GAPS = st.integers(0, 900_000).map(lambda ms: ms / 1000)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
TEAMS = st.sampled_from(["home", "away"])
# Client ids come from a small pool, so repeats (idempotent) and conflicts (409) happen.


def with_options(base: dict[str, Any], **optional: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(base, optional=optional)


def raw_events(log_size: int = 30) -> st.SearchStrategy[dict[str, Any]]:
    """Events as a scorekeeper would send them, valid for the schema (not always for the match)."""
    common = {"id": st.sampled_from(["a", "b", "c", "d"]),
              "expected_seq": st.integers(0, log_size)}
    return st.one_of(
        with_options({"type": st.just("goal"), "team": TEAMS}, player=st.text(min_size=1, max_size=5),
                     minute=st.integers(0, 130), own_goal=st.booleans(), penalty=st.booleans(),
                     assist=st.text(min_size=1, max_size=5), period=st.integers(1, 5), **common),
        with_options({"type": st.just("points"), "team": TEAMS, "value": st.integers(1, 4)}, **common),
        with_options({"type": st.just("card"), "team": TEAMS,
                      "color": st.sampled_from(["yellow", "red", "second_yellow"])}, **common),
        with_options({"type": st.just("substitution"), "team": TEAMS, "player_in": st.just("In"),
                      "player_out": st.just("Out")}, minute=st.integers(0, 130), **common),
        with_options({"type": st.just("shootout_kick"), "team": TEAMS, "scored": st.booleans()},
                     player=st.text(min_size=1, max_size=5), **common),
        with_options({"type": st.just("clock"), "action": st.sampled_from(["stop", "start"])}, **common),
        with_options({"type": st.just("clock"), "action": st.just("set"),
                      "elapsed": st.integers(0, 8000) | st.floats(0, 8000)}, **common),
        with_options({"type": st.just("added_time"), "minutes": st.integers(0, 15)}, **common),
        with_options({"type": st.just("notification"), "title": st.text(min_size=1, max_size=10)}, **common),
        # Periods change often and the shootout's is drawn often, so runs reach every phase.
        with_options({"type": st.just("period_start")}, period=st.integers(1, 6), **common),
        with_options({"type": st.just("period_start")}, **common),
        with_options({"type": st.just("period_start"), "period": st.just(5)}, **common),
        with_options({"type": st.just("shootout_kick"), "team": TEAMS, "scored": st.booleans()}, **common),
        with_options({"type": st.just("period_end")}, final=st.booleans(), **common),
        with_options({"type": st.just("period_end")}, **common),
        with_options({"type": st.just("status"),
                      "status": st.sampled_from(["postponed", "abandoned", "finished", "scheduled"])}, **common),
        with_options({"type": st.just("retract"), "target": st.integers(1, log_size)},
                     reason=st.text(max_size=10), **common),
        with_options({"type": st.just("retract"), "target_id": st.sampled_from(["a", "b", "c", "d"])}, **common),
    )


def known_of(log: list[Event]) -> Known:
    return Known(by_seq={e.seq: e for e in log}, by_id={e.id: e for e in log})


def try_accept(
    state: MatchState, log: list[Event], drafts: list[EventDraft], now: str, profile: SportProfile,
) -> tuple[MatchState, list[Event]] | None:
    """The state and log after `drafts` as one batch, or None when the batch is refused."""
    try:
        acceptance = accept(state, drafts, known_of(log), now=now, log=log, profile=profile)
    except ScoreboardError:
        return None
    return acceptance.state, log + acceptance.new_events


def counted_score(log: list[Event]) -> dict[str, int]:
    """The score computed without the fold: goals and points whose seq no retract names."""
    retracted = {e.fields["target"] for e in log if e.type == "retract"}
    score = {"home": 0, "away": 0}
    for logged in log:
        if logged.type in ("goal", "points") and logged.seq not in retracted:
            score[logged.fields["team"]] += int(logged.fields.get("value", 1))
    return score


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values, max_size=3) | json_values)
def test_any_json_body_is_loaded_or_refused_with_field_errors(body: Any) -> None:
    """Whatever JSON arrives, the schema layer answers drafts or a ValidationError, nothing else."""
    try:
        drafts = schemas.load_event_batch(body)
    except ValidationError as exc:
        assert isinstance(exc.messages, (dict, list))
    else:
        assert drafts and all(d.type in schemas.EVENT_SCHEMAS for d in drafts)


@settings(max_examples=300, deadline=None)
@given(raw_events())
def test_valid_events_load_and_keep_their_fields(raw: dict[str, Any]) -> None:
    """A schema-valid event loads to a draft carrying its type, id, expected_seq and fields."""
    draft = schemas.load_event(raw)
    assert draft.type == raw["type"] and draft.client_id == raw.get("id")
    assert draft.expected_seq == raw.get("expected_seq")
    for name, value in raw.items():
        if name not in ("type", "id", "expected_seq"):
            assert draft.fields[name] == value


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(PROFILES, st.lists(st.tuples(GAPS, st.lists(raw_events(), min_size=1, max_size=4)), min_size=1, max_size=14))
def test_fold_counts_exactly_the_goals_not_retracted(
    profile: SportProfile, batches: list[tuple[float, list[dict[str, Any]]]],
) -> None:
    """Any accepted sequence, at any pace, in either sport: score = goals/points not retracted,
    seqs 1..n, incremental state = refold (clock and shootout included), a batch is accepted
    whole exactly when its events would be accepted one by one, the shootout = its kicks not
    retracted and never part of the score, and every stamped minute label agrees with its minute."""
    state, log = MatchState(), []
    clock_time = 0.0
    for gap, raw_batch in batches:
        clock_time += gap
        now = at(clock_time)
        drafts = [schemas.load_event(raw) for raw in raw_batch]
        batched = try_accept(state, log, drafts, now, profile)
        one_by_one: tuple[MatchState, list[Event]] | None = (state, log)
        for draft in drafts:
            assert one_by_one is not None
            one_by_one = try_accept(*one_by_one, [draft], now, profile)
            if one_by_one is None:
                break
        if batched is None:
            assert one_by_one is None, "a batch was refused though each event was acceptable"
            continue  # refused: the state and log stay exactly as they were
        assert one_by_one is not None, "a batch was accepted though one of its events is not"
        assert batched[0] == one_by_one[0]
        assert [(e.seq, e.type, dict(e.fields)) for e in batched[1]] == \
               [(e.seq, e.type, dict(e.fields)) for e in one_by_one[1]]
        state, log = batched
        assert state == fold(log, profile)
    target(float(len(log)), label="accepted events")  # steer towards long logs with retracts
    event("log length " + ("0" if not log else "1-5" if len(log) <= 5 else "6+"))
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert state.seq == len(log)
    assert state.score == counted_score(log)
    assert state == fold(log, profile)
    retracted = frozenset(e.fields["target"] for e in log if e.type == "retract")
    assert state.retracted == retracted
    kicks = [e for e in log if e.type == "shootout_kick" and e.seq not in retracted]
    if state.shootout is None:
        assert not kicks
    else:
        assert profile is FOOTBALL
        event("shootout")
        assert [k.seq for k in state.shootout.kicks] == [e.seq for e in kicks]
        for side in ("home", "away"):
            assert getattr(state.shootout, side) == sum(e.fields["scored"] for e in kicks if e.fields["team"] == side)
    assert state.clock.elapsed >= 0
    for logged in log:
        if "minute_label" in logged.fields and profile is FOOTBALL:
            assert_label_matches(logged.fields["minute_label"], logged.fields["period"], logged.fields["minute"])


def assert_label_matches(label: str, period: int, minute: int) -> None:
    """45+7' is minute 52 of a period ending at 45; 23' is minute 23 within its period."""
    end = FOOTBALL.period_end(period) // 60
    text = label.rstrip("'")
    if "+" in text:
        base, over = (int(part) for part in text.split("+"))
        assert (base, base + over) == (end, minute) and over > 0
    else:
        assert int(text) == minute <= end


CLOCK_OPS = st.one_of(
    st.tuples(st.just("stop"), st.none()), st.tuples(st.just("start"), st.none()),
    st.tuples(st.just("set"), st.integers(0, 7_000_000).map(lambda ms: ms / 1000)),
    st.tuples(st.just("goal"), st.none()),
)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4), st.lists(st.tuples(GAPS, CLOCK_OPS), max_size=25), GAPS)
def test_the_clock_runs_like_a_stopwatch(
    period: int, steps: list[tuple[float, tuple[str, float | None]]], final_gap: float,
) -> None:
    """Within a period, the clock reads what a stopwatch model reads at every instant (started
    at the period's offset, paused by stop, resumed by start, moved by set), and a goal without
    a minute gets the stopwatch's minute."""
    profile = FOOTBALL
    state, log = MatchState(), []
    result = try_accept(state, log, [schemas.load_event({"type": "period_start", "period": period})], at(0), profile)
    assert result is not None
    state, log = result
    watch, running, now = float(profile.period_start(period)), True, 0.0
    for gap, (action, value) in steps:
        now += gap
        watch += gap if running else 0.0
        raw: dict[str, Any] = (
            {"type": "goal", "team": "home"} if action == "goal" else {"type": "clock", "action": action})
        if action == "set":
            raw["elapsed"] = value
        result = try_accept(state, log, [schemas.load_event(raw)], at(now), profile)
        assert result is not None
        state, log = result
        if action == "goal":
            assert log[-1].fields["minute"] == min(int(watch // 60) + 1, 300)
        elif action == "set":
            watch = float(value or 0)
        else:
            running = action == "start"
        assert state.clock.running == running
    now += final_gap
    watch += final_gap if running else 0.0
    assert abs(state.clock.reading(at(now)) - watch) < 1e-6
    assert state == fold(log, profile)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(TEAMS, st.booleans()), max_size=16), st.sets(st.integers(0, 15)),
       st.integers(0, 3), st.integers(0, 3))
def test_a_shootout_decides_only_a_level_match(
    kicks: list[tuple[str, bool]], undone: set[int], home: int, away: int,
) -> None:
    """Whatever kicks are taken and retracted, the tally is the kicks that stand; the score is
    untouched; at the end the score decides, and the shootout only when the score is level."""
    profile = FOOTBALL
    state, log = MatchState(), []
    opening = [{"type": "period_start", "period": 4}] + [{"type": "goal", "team": "home"}] * home \
        + [{"type": "goal", "team": "away"}] * away + [{"type": "period_end"}, {"type": "period_start", "period": 5}]
    result = try_accept(state, log, [schemas.load_event(raw) for raw in opening], at(0), profile)
    assert result is not None
    state, log = result
    kick_seqs = []
    for team, scored in kicks:
        kick = schemas.load_event({"type": "shootout_kick", "team": team, "scored": scored})
        result = try_accept(state, log, [kick], at(1), profile)
        assert result is not None
        state, log = result
        kick_seqs.append(log[-1].seq)
    for index in sorted(undone):
        if index < len(kick_seqs):
            undo = schemas.load_event({"type": "retract", "target": kick_seqs[index]})
            result = try_accept(state, log, [undo], at(2), profile)
            assert result is not None
            state, log = result
    standing = [k for i, k in enumerate(kicks) if i not in undone]
    assert state.shootout is not None
    assert (state.shootout.home, state.shootout.away) == (
        sum(s for t, s in standing if t == "home"), sum(s for t, s in standing if t == "away"))
    assert state.score == {"home": home, "away": away}
    result = try_accept(state, log, [schemas.load_event({"type": "period_end", "final": True})], at(3), profile)
    assert result is not None
    state, log = result
    if home != away:
        expected = "home" if home > away else "away"
    elif state.shootout.home != state.shootout.away:
        expected = "home" if state.shootout.home > state.shootout.away else "away"
    else:
        expected = "draw"
    assert state.winner == expected
    assert state == fold(log, profile)
