"""The OpenAPI 3 document of the HTTP API, built from the marshmallow schemas the API loads with.

Request bodies come from `schemas.py` (what the handlers really validate with); the answer
shapes, which handlers build as plain dicts, are described here once. tests/ops keeps the
document and the app's /api routes in step, and validates example requests against it.
"""
from __future__ import annotations

import copy
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields, validate

from ... import schemas
from ...domain import STATUSES
from ...notify import openapi as notify_api
from ..security.viewer import TokenRequestSchema

TITLE = "Scoreboard API"
VERSION = "1.0.0"
ERROR_CODES = (
    "bad_json", "validation_failed", "unauthorized", "forbidden", "not_found", "match_closed",
    "seq_conflict", "id_conflict", "match_exists", "too_large", "unsupported_media_type",
    "method_not_allowed", "rate_limited", "store_unavailable",
)


# -- answer shapes -----------------------------------------------------------------------------

class ScoreSchema(Schema):
    home = fields.Integer(required=True)
    away = fields.Integer(required=True)


class MatchViewSchema(Schema):
    id = fields.String(required=True)
    home = fields.String(required=True)
    away = fields.String(required=True)
    starts_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    private = fields.Boolean(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    period = fields.Integer(required=True)
    score = fields.Nested(ScoreSchema, required=True)
    seq = fields.Integer(required=True, metadata={"description": "seq of the last event (0: none)"})
    retracted = fields.List(fields.Integer(), required=True, metadata={"description": "retracted seqs"})


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


def _component_name(kind: str) -> str:
    return "".join(part.title() for part in kind.split("_")) + "Event"


EVENT_COMPONENTS = {kind: _component_name(kind) for kind in schemas.EVENT_SCHEMAS}


# -- operations --------------------------------------------------------------------------------

MATCH_ID = {
    "name": "match_id", "in": "path", "required": True,
    "schema": {"type": "string", "pattern": schemas.MATCH_ID_PATTERN.pattern},
}
READ_SECURITY: list[dict[str, list[str]]] = [{}, {"viewerToken": []}, {"scorekeeper": []}]
WRITE_SECURITY: list[dict[str, list[str]]] = [{"scorekeeper": []}]


def _json(schema: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ok(status: int, description: str, schema: Any, **extra: Any) -> dict[str, Any]:
    return {str(status): {"description": description, "content": _json(schema), **extra}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": "#/components/responses/Error"} for status in statuses}


READ_ERRORS = (400, 401, 403, 404, 422, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)

EVENT_INPUT = {"$ref": "#/components/schemas/EventInput"}
EVENT_BATCH = {
    "oneOf": [
        EVENT_INPUT,
        {"type": "array", "items": EVENT_INPUT, "minItems": 1, "maxItems": schemas.MAX_BATCH},
        {
            "type": "object", "additionalProperties": False, "required": ["events"],
            "properties": {"events": {"type": "array", "items": EVENT_INPUT, "minItems": 1,
                                      "maxItems": schemas.MAX_BATCH}},
        },
    ],
}

OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "/api/matches": {
        "get": {
            "summary": "List matches",
            "description": "Public matches, plus the private ones the token or key grants.",
            "operationId": "listMatches",
            "security": READ_SECURITY,
            "parameters": [{"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}}],
            "responses": {**_ok(200, "The matches", "MatchList"), **_errors(*READ_ERRORS)},
        },
        "post": {
            "summary": "Create a match",
            "operationId": "createMatch",
            "security": WRITE_SECURITY,
            "requestBody": {"required": True, "content": _json(schemas.MatchCreateSchema)},
            "responses": {
                **_ok(201, "Created", "MatchView",
                      headers={"Location": {"schema": {"type": "string"}, "description": "the match's URL"}}),
                **_errors(*WRITE_ERRORS),
            },
        },
    },
    "/api/matches/{match_id}": {
        "get": {
            "summary": "One match: teams, status, period, score",
            "operationId": "getMatch",
            "security": READ_SECURITY,
            "parameters": [MATCH_ID],
            "responses": {**_ok(200, "The match", "MatchView"), **_errors(*READ_ERRORS)},
        },
    },
    "/api/matches/{match_id}/events": {
        "get": {
            "summary": "The match's event log",
            "operationId": "listEvents",
            "security": READ_SECURITY,
            "parameters": [
                MATCH_ID,
                {"name": "since", "in": "query", "description": "only events with a greater seq",
                 "schema": {"type": "integer", "minimum": 0, "default": 0}},
                {"name": "limit", "in": "query", "description": "at most this many events",
                 "schema": {"type": "integer", "minimum": 0}},
            ],
            "responses": {**_ok(200, "Events in seq order", "EventList"), **_errors(*READ_ERRORS)},
        },
        "post": {
            "summary": "Post events (one, a list, or {\"events\": [...]})",
            "description": (
                "All of a batch is accepted or none. An event may carry `id` (idempotency: a "
                "repeat answers 200 with the original events) and `expected_seq` (409 "
                "seq_conflict unless the log is at that seq just before it)."
            ),
            "operationId": "postEvents",
            "security": WRITE_SECURITY,
            "parameters": [MATCH_ID],
            "requestBody": {"required": True, "content": _json(EVENT_BATCH)},
            "responses": {
                **_ok(201, "Stored", "IngestResult"),
                **_ok(200, "A repeat of events already stored", "IngestResult"),
                **_errors(*WRITE_ERRORS),
            },
        },
    },
    "/api/matches/{match_id}/tokens": {
        "post": {
            "summary": "Issue a viewer token for a private match",
            "operationId": "issueToken",
            "security": WRITE_SECURITY,
            "parameters": [MATCH_ID],
            "requestBody": {"required": False, "content": _json(TokenRequestSchema)},
            "responses": {**_ok(201, "A signed viewer token", "Token"), **_errors(*WRITE_ERRORS)},
        },
    },
}

EXAMPLES: dict[tuple[str, str], list[Any]] = {
    ("/api/matches", "post"): [{"id": "arg-fra", "home": "Argentina", "away": "France",
                                "starts_at": "2022-12-18T15:00:00+00:00"}],
    ("/api/matches/{match_id}/events", "post"): [
        {"type": "goal", "team": "home", "player": "Messi", "minute": 23, "penalty": True, "id": "k-17"},
        [{"type": "period_start"}, {"type": "points", "team": "away", "value": 3}],
        {"events": [{"type": "card", "team": "away", "color": "yellow", "minute": 40},
                    {"type": "notification", "title": "Drinks break", "level": "info"},
                    {"type": "retract", "target": 3, "reason": "VAR"},
                    {"type": "period_end", "final": True}]},
    ],
    ("/api/matches/{match_id}/tokens", "post"): [{"ttl": 600}],
    **notify_api.EXAMPLES,
}


def build_spec() -> dict[str, Any]:
    """The whole OpenAPI document as a plain dict (JSON-ready)."""
    spec = APISpec(
        title=TITLE, version=VERSION, openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
        info={"description": "Live scores: scorekeepers post events, anyone reads public matches. "
                             "Live feeds (/ws, /sse) are described in docs/architecture.md."},
    )
    spec.components.security_scheme(
        "scorekeeper", {"type": "http", "scheme": "bearer", "description": "a scorekeeper API key"},
    )
    spec.components.security_scheme(
        "viewerToken", {"type": "apiKey", "in": "query", "name": "token",
                        "description": "a viewer token for private matches"},
    )
    for name, scheme in notify_api.SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    for name, schema in (("MatchView", MatchViewSchema), ("MatchList", MatchListSchema),
                         ("EventList", EventListSchema), ("IngestResult", IngestResultSchema),
                         ("Token", TokenSchema), ("Error", ErrorSchema), *notify_api.COMPONENTS.items()):
        spec.components.schema(name, schema=schema)
    for kind, schema_class in schemas.EVENT_SCHEMAS.items():
        spec.components.schema(EVENT_COMPONENTS[kind], schema=schema_class)
    spec.components.response(
        "Error", {"description": "An error", "content": _json("Error")},
    )
    for path, operations in {**OPERATIONS, **notify_api.OPERATIONS}.items():
        spec.path(path=path, operations=copy.deepcopy(operations))
    document = spec.to_dict()
    _refine_events(document["components"]["schemas"])
    for (path, method), examples in EXAMPLES.items():
        content = document["paths"][path][method]["requestBody"]["content"]["application/json"]
        content["examples"] = {f"example{i}": {"value": value} for i, value in enumerate(examples, 1)}
    return document


def _refine_events(components: dict[str, Any]) -> None:
    """What marshmallow cannot say alone: each event's `type` value, retract's one-target rule."""
    for kind, name in EVENT_COMPONENTS.items():
        components[name]["properties"]["type"] = {"type": "string", "enum": [kind]}
    components[EVENT_COMPONENTS["retract"]]["oneOf"] = [
        {"required": ["target"]}, {"required": ["target_id"]},
    ]
    components["EventInput"] = {
        "oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in EVENT_COMPONENTS.values()],
        "discriminator": {
            "propertyName": "type",
            "mapping": {kind: f"#/components/schemas/{name}" for kind, name in EVENT_COMPONENTS.items()},
        },
    }
