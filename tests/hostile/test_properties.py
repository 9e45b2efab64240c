"""Property tests: the event schemas take any JSON without crashing, and the fold keeps the score honest."""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from marshmallow import ValidationError

from scoreboard import schemas
from scoreboard.domain import Event, EventDraft, Known, MatchState, accept, fold
from scoreboard.errors import ScoreboardError

NOW = "2026-01-01T00:00:00.000Z"
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
                     minute=st.integers(0, 120), own_goal=st.booleans(), penalty=st.booleans(), **common),
        with_options({"type": st.just("points"), "team": TEAMS, "value": st.integers(1, 100)}, **common),
        with_options({"type": st.just("card"), "team": TEAMS,
                      "color": st.sampled_from(["yellow", "red", "second_yellow"])}, **common),
        with_options({"type": st.just("notification"), "title": st.text(min_size=1, max_size=10)}, **common),
        with_options({"type": st.just("period_start")}, period=st.integers(1, 4), **common),
        with_options({"type": st.just("period_end")}, final=st.booleans(), **common),
        with_options({"type": st.just("status"),
                      "status": st.sampled_from(["postponed", "abandoned", "finished", "scheduled"])}, **common),
        with_options({"type": st.just("retract"), "target": st.integers(1, log_size)},
                     reason=st.text(max_size=10), **common),
        with_options({"type": st.just("retract"), "target_id": st.sampled_from(["a", "b", "c", "d"])}, **common),
    )


def known_of(log: list[Event]) -> Known:
    return Known(by_seq={e.seq: e for e in log}, by_id={e.id: e for e in log})


def try_accept(state: MatchState, log: list[Event], drafts: list[EventDraft]) -> tuple[MatchState, list[Event]] | None:
    """The state and log after `drafts` as one batch, or None when the batch is refused."""
    try:
        acceptance = accept(state, drafts, known_of(log), now=NOW, log=log)
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


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.lists(raw_events(), min_size=1, max_size=4), min_size=1, max_size=12))
def test_fold_counts_exactly_the_goals_not_retracted(batches: list[list[dict[str, Any]]]) -> None:
    """Any accepted sequence: score = goals/points not retracted, seqs 1..n, incremental state = refold,
    and a batch is accepted whole exactly when its events would be accepted one by one."""
    state, log = MatchState(), []
    for raw_batch in batches:
        drafts = [schemas.load_event(raw) for raw in raw_batch]
        batched = try_accept(state, log, drafts)
        one_by_one: tuple[MatchState, list[Event]] | None = (state, log)
        for draft in drafts:
            assert one_by_one is not None
            one_by_one = try_accept(*one_by_one, [draft])
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
    target(float(len(log)), label="accepted events")  # steer towards long logs with retracts
    event("log length " + ("0" if not log else "1-5" if len(log) <= 5 else "6+"))
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert state.seq == len(log)
    assert state.score == counted_score(log)
    assert state == fold(log)
    assert state.retracted == frozenset(e.fields["target"] for e in log if e.type == "retract")
