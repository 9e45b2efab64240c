"""The answer shapes of the HTTP API as marshmallow schemas, for the OpenAPI document.

Handlers build answers as plain dicts (`domain.match_view`, `domain.standings`, ...); these
schemas describe them once, and tests/ops checks real answers against the document.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ... import schemas
from ...domain import SPORTS, STATUSES

ERROR_CODES = (
    "bad_json", "validation_failed", "unauthorized", "forbidden", "not_found", "match_closed",
    "seq_conflict", "id_conflict", "match_exists", "not_in_play", "too_large", "unsupported_media_type",
    "method_not_allowed", "rate_limited", "store_unavailable",
)


class ScoreSchema(Schema):
    home = fields.Integer(required=True)
    away = fields.Integer(required=True)


class ClockSchema(Schema):
    running = fields.Boolean(required=True)
    elapsed = fields.Float(required=True, metadata={"description": "seconds into the match at `at`"})
    at = fields.String(required=True, allow_none=True, metadata={
        "format": "date-time",
        "description": "server time of this reading; while running, now = elapsed + (now - at)"})


class KickSchema(Schema):
    seq = fields.Integer(required=True, metadata={"description": "the shootout_kick event"})
    team = fields.String(required=True, validate=validate.OneOf(("home", "away")))
    player = fields.String(required=True, allow_none=True)
    scored = fields.Boolean(required=True)


class ShootoutSchema(Schema):
    home = fields.Integer(required=True)
    away = fields.Integer(required=True)
    after_period = fields.Integer(required=True, metadata={"description": "4: after extra time"})
    kicks = fields.List(fields.Nested(KickSchema), required=True, metadata={"description": "in order taken"})


class PeriodInfoSchema(Schema):
    period = fields.Integer(required=True)
    name = fields.String(required=True, metadata={
        "description": "\"1st half\", \"Extra time 2nd half\", \"Q3\", \"OT\""})
    start = fields.Integer(required=True, metadata={"description": "clock seconds at its start"})
    end = fields.Integer(required=True, metadata={"description": "clock seconds at its regular end"})
    break_ = fields.String(data_key="break", required=True, allow_none=True, metadata={
        "description": "status label of the break after it (\"Half time\")"})


class MatchViewSchema(Schema):
    id = fields.String(required=True)
    home = fields.String(required=True)
    away = fields.String(required=True)
    starts_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    private = fields.Boolean(required=True)
    sport = fields.String(required=True, validate=validate.OneOf(SPORTS))
    period_minutes = fields.Integer(required=True, allow_none=True)
    extra_minutes = fields.Integer(required=True, allow_none=True)
    competition = fields.String(required=True, allow_none=True)
    competition_slug = fields.String(required=True, allow_none=True)
    stage = fields.String(required=True, allow_none=True)
    venue = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    status_label = fields.String(required=True, metadata={
        "description": "\"1st half\", \"Half time\", \"Extra time\", \"Penalties\", \"Full time\", "
                       "\"AET\", \"Pens\"; basketball \"Q1\"-\"Q4\", \"OT\", \"Final\""})
    period = fields.Integer(required=True)
    period_name = fields.String(required=True)
    score = fields.Nested(ScoreSchema, required=True)
    clock = fields.Nested(ClockSchema, required=True)
    added_time = fields.Integer(required=True, allow_none=True, metadata={
        "description": "minutes shown for this period"})
    shootout = fields.Nested(ShootoutSchema, required=True, allow_none=True)
    winner = fields.String(required=True, allow_none=True, validate=validate.OneOf(("home", "away", "draw")))
    decided_by = fields.String(required=True, allow_none=True, validate=validate.OneOf(
        ("normal_time", "extra_time", "overtime", "penalties")))
    result = fields.String(required=True, allow_none=True, metadata={
        "description": "\"Argentina win 4–2 on penalties\""})
    seq = fields.Integer(required=True, metadata={"description": "seq of the last event (0: none)"})
    retracted = fields.List(fields.Integer(), required=True, metadata={"description": "retracted seqs"})
    countdown = fields.Boolean(required=True, metadata={"description": "the clock shows time left (basketball)"})
    periods = fields.List(fields.Nested(PeriodInfoSchema), required=True)
    watching = fields.Integer(validate=validate.Range(min=0), metadata={
        "description": "fans live on the match now (WebSocket and SSE, over every instance, as of the "
                       "last count every watching_interval s); in one match's answer and in snapshots, "
                       "not in lists"})


class MatchListSchema(Schema):
    matches = fields.List(fields.Nested(MatchViewSchema), required=True)


class StoredEventSchema(Schema):
    """An accepted event: these four fields plus the fields of its type."""

    class Meta:
        unknown = "include"

    seq = fields.Integer(required=True)
    id = fields.String(required=True, metadata={"description": "the client's idempotency id, or srv-<uuid>"})
    type = fields.String(required=True, validate=validate.OneOf(tuple(schemas.EVENT_SCHEMAS)))
    at = fields.String(required=True, metadata={"format": "date-time"})


class EventListSchema(Schema):
    events = fields.List(fields.Nested(StoredEventSchema), required=True)


class IngestResultSchema(Schema):
    events = fields.List(fields.Nested(StoredEventSchema), required=True)
    seq = fields.Integer(required=True, metadata={"description": "seq of the batch's last event"})
    score = fields.Nested(ScoreSchema, required=True, metadata={"description": "score after the batch"})


class CompetitionSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    sports = fields.List(fields.String(), required=True)
    stages = fields.List(fields.String(), required=True, metadata={"description": "in kickoff order"})
    matches = fields.Integer(required=True)
    live = fields.Integer(required=True)
    finished = fields.Integer(required=True)
    first_day = fields.String(required=True, metadata={"format": "date"})
    last_day = fields.String(required=True, metadata={"format": "date"})


class CompetitionListSchema(Schema):
    competitions = fields.List(fields.Nested(CompetitionSchema), required=True)


class TableRowSchema(Schema):
    position = fields.Integer(required=True)
    team = fields.String(required=True)
    played = fields.Integer(required=True)
    won = fields.Integer(required=True)
    drawn = fields.Integer(required=True)
    lost = fields.Integer(required=True)
    goals_for = fields.Integer(required=True)
    goals_against = fields.Integer(required=True)
    goal_difference = fields.Integer(required=True)
    points = fields.Integer(required=True)
    live = fields.Boolean(required=True, metadata={"description": "counts a live match's current score"})


class TableSchema(Schema):
    stage = fields.String(required=True, allow_none=True)
    group = fields.Integer(required=True, allow_none=True, metadata={
        "description": "1, 2, ... when a stage holds separate groups of teams; else null"})
    live = fields.Boolean(required=True)
    played = fields.Integer(required=True, metadata={"description": "finished matches"})
    matches = fields.Integer(required=True)
    rows = fields.List(fields.Nested(TableRowSchema), required=True)


class CompetitionRefSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)


class StandingsSchema(Schema):
    competition = fields.Nested(CompetitionRefSchema, required=True)
    tables = fields.List(fields.Nested(TableSchema), required=True)


class TokenSchema(Schema):
    token = fields.String(required=True)
    matches = fields.List(fields.String(), required=True)
    ttl = fields.Integer(required=True)
    expires_at = fields.String(required=True, metadata={"format": "date-time"})


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "one of: " + ", ".join(ERROR_CODES)})
    message = fields.String(required=True, metadata={"description": "for people; may change"})
    fields_ = fields.Dict(data_key="fields", metadata={"description": "per-field messages"})
    request_id = fields.String(metadata={"description": "also in the X-Request-ID header and the log"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)
