"""marshmallow schemas for everything that crosses the HTTP edge.

Unknown fields are rejected (marshmallow's default RAISE), so a typo never silently drops data.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .domain import MATCH_ID_PATTERN, SPORTS, EventDraft, name_slug, to_utc
from .schema_fastpath import FastLoader

CLIENT_ID = fields.String(validate=[
    validate.Length(1, 128),
    validate.Regexp(r"^[A-Za-z0-9._:~-]+$", error="use letters, digits and . _ : ~ - only"),
])
TEAM = fields.String(required=True, validate=validate.OneOf(("home", "away")))
PLAYER = fields.String(validate=validate.Length(1, 120), allow_none=True)
MINUTE = fields.Integer(validate=validate.Range(0, 300), allow_none=True, strict=True, metadata={
    "description": "the minute fans read (23 for 22:14 on the clock); left out or null: the "
                   "server takes it from the running clock",
})
PERIOD = fields.Integer(validate=validate.Range(1, 20), strict=True, metadata={
    "description": "the period it happened in; left out: the current one (give it for a late entry)",
})
# Longest match clock we accept (seconds): far beyond any real match, short of nonsense.
MAX_ELAPSED = 6 * 3600


class StrictNumber(fields.Float):
    """A JSON number (not a string, not a boolean), as `Integer(strict=True)` is for integers."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _has_a_letter_or_digit(text: str) -> bool:
    if not name_slug(text):
        raise ValidationError("must contain a letter or a digit")
    return True


class MatchCreateSchema(Schema):
    id = fields.String(validate=validate.Regexp(
        MATCH_ID_PATTERN, error="lowercase letters, digits and '-', at most 64, not starting with '-'",
    ))
    home = fields.String(required=True, validate=validate.Length(1, 80))
    away = fields.String(required=True, validate=validate.Length(1, 80))
    starts_at = fields.AwareDateTime(allow_none=True, format="iso", metadata={
        "description": "kickoff instant with its offset; stored and served in UTC (…Z)",
    })
    private = fields.Boolean(load_default=False)
    sport = fields.String(load_default="football", validate=validate.OneOf(SPORTS))
    period_minutes = fields.Integer(strict=True, validate=validate.Range(1, 60), allow_none=True, metadata={
        "description": "length of a regular period (football 45, FIBA 10, NBA 12); default: the sport's",
    })
    extra_minutes = fields.Integer(strict=True, validate=validate.Range(1, 30), allow_none=True, metadata={
        "description": "length of an extra-time / overtime period (football 15, basketball 5)",
    })
    competition = fields.String(validate=[validate.Length(1, 100), _has_a_letter_or_digit], allow_none=True)
    stage = fields.String(validate=validate.Length(1, 80), allow_none=True, metadata={
        "description": "e.g. \"Group C\" (a table) or \"Final\"; see README, Standings",
    })
    venue = fields.String(validate=validate.Length(1, 120), allow_none=True)


class _EventBase(Schema):
    id = CLIENT_ID
    type = fields.String(required=True)
    expected_seq = fields.Integer(validate=validate.Range(0), strict=True)


class PeriodStartSchema(_EventBase):
    period = fields.Integer(validate=validate.Range(1, 20), strict=True)


class PeriodEndSchema(_EventBase):
    final = fields.Boolean(load_default=False)


class GoalSchema(_EventBase):
    team = TEAM
    player = PLAYER
    minute = MINUTE
    period = PERIOD
    own_goal = fields.Boolean(load_default=False)
    penalty = fields.Boolean(load_default=False)
    assist = PLAYER


class PointsSchema(_EventBase):
    team = TEAM
    value = fields.Integer(required=True, validate=validate.Range(1, 100), strict=True, metadata={
        "description": "basketball: 1, 2 or 3",
    })
    player = PLAYER
    minute = MINUTE
    period = PERIOD


class CardSchema(_EventBase):
    team = TEAM
    player = PLAYER
    minute = MINUTE
    period = PERIOD
    color = fields.String(required=True, validate=validate.OneOf(("yellow", "red", "second_yellow")))


class SubstitutionSchema(_EventBase):
    team = TEAM
    player_in = fields.String(required=True, validate=validate.Length(1, 120))
    player_out = fields.String(required=True, validate=validate.Length(1, 120))
    minute = MINUTE
    period = PERIOD


class ShootoutKickSchema(_EventBase):
    team = TEAM
    player = PLAYER
    scored = fields.Boolean(required=True)


class ClockSchema(_EventBase):
    action = fields.String(required=True, validate=validate.OneOf(("stop", "start", "set")))
    elapsed = StrictNumber(validate=validate.Range(0, MAX_ELAPSED), metadata={
        "description": "with `set`: seconds into the match (3600 = 60:00; basketball counts "
                       "game time too: Q3 with 4:12 left is 1800 - 252 = 1548 with 10' quarters)",
    })

    @validates_schema
    def _elapsed_with_set(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("action") == "set") != ("elapsed" in data):
            raise ValidationError("give elapsed with action set, and only then", "elapsed")


class AddedTimeSchema(_EventBase):
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(0, 30))


class NotificationSchema(_EventBase):
    title = fields.String(required=True, validate=validate.Length(1, 120))
    text = fields.String(validate=validate.Length(0, 1000), load_default="")
    level = fields.String(validate=validate.OneOf(("info", "important", "alert")), load_default="info")


class StatusSchema(_EventBase):
    status = fields.String(
        required=True, validate=validate.OneOf(("postponed", "abandoned", "finished", "scheduled")),
    )


class RetractSchema(_EventBase):
    target = fields.Integer(validate=validate.Range(1), strict=True)
    target_id = CLIENT_ID
    reason = fields.String(validate=validate.Length(0, 200))

    @validates_schema
    def _one_target(self, data: dict[str, Any], **_: Any) -> None:
        if ("target" in data) == ("target_id" in data):
            raise ValidationError("give exactly one of target (a seq) or target_id", "target")


EVENT_SCHEMAS: dict[str, type[_EventBase]] = {
    "period_start": PeriodStartSchema,
    "period_end": PeriodEndSchema,
    "goal": GoalSchema,
    "points": PointsSchema,
    "card": CardSchema,
    "substitution": SubstitutionSchema,
    "shootout_kick": ShootoutKickSchema,
    "clock": ClockSchema,
    "added_time": AddedTimeSchema,
    "notification": NotificationSchema,
    "status": StatusSchema,
    "retract": RetractSchema,
}
_SCHEMA_INSTANCES = {name: cls() for name, cls in EVENT_SCHEMAS.items()}
# type -> the quick check for its valid events (schema_fastpath.py), where the schema is plain.
_FAST_LOADERS = {
    name: loader for name, schema in _SCHEMA_INSTANCES.items()
    if (loader := FastLoader.for_schema(schema)) is not None
}
MAX_BATCH = 100


def load_event(raw: Any) -> EventDraft:
    """One event object -> EventDraft; raises ValidationError with per-field messages."""
    if not isinstance(raw, Mapping):
        raise ValidationError({"_schema": ["an event must be a JSON object"]})
    kind = raw.get("type")
    schema = _SCHEMA_INSTANCES.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise ValidationError({"type": [f"must be one of: {', '.join(EVENT_SCHEMAS)}"]})
    fast = _FAST_LOADERS.get(str(kind))
    data = fast.load(raw) if fast is not None else None
    if data is None:  # not a plainly valid event: the schema decides, and words any error
        data = schema.load(raw)
    client_id = data.pop("id", None)
    expected_seq = data.pop("expected_seq", None)
    data.pop("type")
    return EventDraft(type=str(kind), fields=data, client_id=client_id, expected_seq=expected_seq)


def load_event_batch(body: Any) -> list[EventDraft]:
    """An event, a list of events or {"events": [...]} -> drafts; errors keyed by position."""
    if isinstance(body, Mapping) and "events" in body and "type" not in body:
        extra = set(body) - {"events"}
        if extra:
            raise ValidationError({name: ["Unknown field."] for name in sorted(extra)})
        body = body["events"]
    raws = body if isinstance(body, list) else [body]
    if not raws:
        raise ValidationError({"events": ["give at least one event"]})
    if len(raws) > MAX_BATCH:
        raise ValidationError({"events": [f"at most {MAX_BATCH} events per request"]})
    drafts: list[EventDraft] = []
    errors: dict[str, Any] = {}
    for index, raw in enumerate(raws):
        try:
            drafts.append(load_event(raw))
        except ValidationError as exc:
            errors[str(index)] = exc.messages
    if errors:
        # A single event reports its fields directly; a batch reports them by position.
        raise ValidationError(errors["0"] if not isinstance(body, list) else errors)
    return drafts


def load_match(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValidationError({"_schema": ["a match must be a JSON object"]})
    data = MatchCreateSchema().load(raw)
    if data.get("starts_at") is not None:
        data["starts_at"] = to_utc(data["starts_at"])
    return data
