"""The quick event check (schema_fastpath.py) gives exactly what marshmallow gives, or defers to it."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, validates_schema

from scoreboard import schemas
from scoreboard.schema_fastpath import FastLoader

# Values near each field's edge: right and wrong types, bounds, null, text that a validator refuses.
EDGY = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 302), st.integers(), st.floats(allow_nan=False),
    st.sampled_from(["home", "away", "yellow", "red", "info", "finished", "", "a" * 121, "k1-5", "bad id!",
                     "true", "1", "Lionel Andrés Messi Cuccittini"]),
    st.text(max_size=8), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def raw_for(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the schema's fields (plus, now and then, an unknown one) with edgy values."""
    names = sorted(schemas._SCHEMA_INSTANCES[name].load_fields) + ["unknown_field"]
    return st.dictionaries(st.sampled_from(names), EDGY, max_size=len(names)).map(lambda raw: {**raw, "type": name})


def marshmallow_answer(name: str, raw: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", schemas._SCHEMA_INSTANCES[name].load(raw)
    except ValidationError as exc:
        return "error", exc.messages


@pytest.mark.parametrize("name", sorted(schemas._FAST_LOADERS))
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_quick_check_agrees_with_the_schema(name: str, data: st.DataObject) -> None:
    """For any input, the quick check returns the schema's own result (same dict, same key order) or defers."""
    raw = data.draw(raw_for(name))
    fast = schemas._FAST_LOADERS[name].load(raw)
    kind, expected = marshmallow_answer(name, raw)
    if fast is not None:
        assert kind == "ok", (raw, expected)
        assert fast == expected and list(fast) == list(expected)


@pytest.mark.parametrize("raw", [
    {"type": "goal", "team": "home", "player": "P", "minute": 12, "id": "k-1"},
    {"type": "goal", "team": "away", "minute": None, "own_goal": True},
    {"type": "card", "team": "home", "color": "red", "period": 2},
    {"type": "period_start"},
    {"type": "substitution", "team": "home", "player_in": "A", "player_out": "B", "expected_seq": 3},
])
def test_common_valid_events_take_the_quick_path(raw: dict[str, Any]) -> None:
    """The events scorekeepers send most are loaded without marshmallow, to the same result."""
    fast = schemas._FAST_LOADERS[raw["type"]].load(raw)
    assert fast is not None
    assert fast == schemas._SCHEMA_INSTANCES[raw["type"]].load(raw)


@pytest.mark.parametrize("raw, field", [
    ({"type": "goal", "team": "middle"}, "team"),
    ({"type": "goal", "team": "home", "minute": True}, "minute"),
    ({"type": "goal", "team": "home", "minute": "12"}, "minute"),
    ({"type": "goal", "team": "home", "own_goal": "yes please"}, "own_goal"),
    ({"type": "goal", "team": "home", "colour": "red"}, "colour"),
    ({"type": "goal"}, "team"),
    ({"type": "goal", "team": None}, "team"),
])
def test_invalid_events_get_the_schemas_own_errors(raw: dict[str, Any], field: str) -> None:
    """A mistake is still worded by marshmallow: the quick check defers and load_event raises its messages."""
    with pytest.raises(ValidationError) as caught:
        schemas.load_event(raw)
    assert caught.value.messages == marshmallow_answer("goal", raw)[1]
    assert field in caught.value.messages


def test_schemas_with_hooks_or_other_fields_get_no_quick_check() -> None:
    """A schema-level validator or a field the check does not know keeps the whole schema on marshmallow
    (this also fails loudly if marshmallow's private `_hooks` registry moves)."""

    class Hooked(Schema):
        name = fields.String()

        @validates_schema
        def _check(self, data: dict[str, Any], **_: Any) -> None:
            raise ValidationError("never")

    class Dated(Schema):
        when = fields.DateTime()

    class Worded(Schema):
        agreed = fields.Boolean(truthy={"yes"}, falsy={"no"})

    assert FastLoader.for_schema(Hooked()) is None
    assert FastLoader.for_schema(Dated()) is None
    assert FastLoader.for_schema(Worded()) is None
    assert "clock" not in schemas._FAST_LOADERS and "retract" not in schemas._FAST_LOADERS
    assert "goal" in schemas._FAST_LOADERS
