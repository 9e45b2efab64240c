"""The OpenAPI 3 document of the HTTP API, built from the marshmallow schemas the API loads with.

Request bodies come from `schemas.py` (what the handlers really validate with); the answer
shapes, which handlers build as plain dicts, are described once in `openapi_shapes.py`. tests/ops keeps the
document and the app's /api routes in step, and validates example requests against it.
"""
from __future__ import annotations

import copy
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from ... import schemas
from ...domain import STATUSES
from ...notify import openapi as notify_api
from ..security.viewer import TokenRequestSchema
from .openapi_shapes import (
    CompetitionListSchema, ErrorSchema, EventListSchema, IngestResultSchema, MatchListSchema,
    MatchViewSchema, StandingsSchema, TokenSchema,
)

TITLE = "Scoreboard API"
VERSION = "1.0.0"


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
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
                {"name": "competition", "in": "query", "description": "a competition's slug",
                 "schema": {"type": "string", "pattern": schemas.MATCH_ID_PATTERN.pattern}},
                {"name": "date", "in": "query", "description": "the UTC day of the kickoff (or of the "
                 "match's creation when it has no kickoff time)", "schema": {"type": "string", "format": "date"}},
            ],
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
    "/api/competitions": {
        "get": {
            "summary": "List competitions",
            "description": "Every competition named by a visible match, sorted by name.",
            "operationId": "listCompetitions",
            "security": READ_SECURITY,
            "responses": {**_ok(200, "The competitions", "CompetitionList"), **_errors(*READ_ERRORS)},
        },
    },
    "/api/competitions/{slug}/standings": {
        "get": {
            "summary": "A competition's live tables",
            "description": (
                "One table per league-style stage (per group when a stage holds separate groups): "
                "finished matches with their final score, live ones with their current score "
                "(rows marked `live`); points 3/1/0 (basketball 2/0/1), ordered by points, goal "
                "difference, goals for, name. See the README, Standings."
            ),
            "operationId": "getStandings",
            "security": READ_SECURITY,
            "parameters": [{"name": "slug", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": schemas.MATCH_ID_PATTERN.pattern}}],
            "responses": {**_ok(200, "The tables", "Standings"), **_errors(*READ_ERRORS)},
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
                                "starts_at": "2022-12-18T15:00:00+00:00", "competition": "FIFA World Cup 2022",
                                "stage": "Final", "venue": "Lusail Stadium"}],
    ("/api/matches/{match_id}/events", "post"): [
        [{"type": "period_start"},
         {"type": "goal", "team": "home", "player": "Messi", "minute": 23, "penalty": True, "id": "k-17"}],
        {"type": "goal", "team": "home", "player": "Di María", "assist": "Mac Allister"},
        {"events": [{"type": "card", "team": "away", "color": "yellow", "minute": 40},
                    {"type": "substitution", "team": "away", "player_in": "Kolo Muani", "player_out": "Dembélé"},
                    {"type": "added_time", "minutes": 7},
                    {"type": "clock", "action": "set", "elapsed": 2760},
                    {"type": "notification", "title": "Drinks break", "level": "info"},
                    {"type": "retract", "target": 3, "reason": "VAR"},
                    {"type": "period_end"}]},
        [{"type": "period_start", "period": 5},
         {"type": "shootout_kick", "team": "away", "player": "Mbappé", "scored": True},
         {"type": "period_end", "final": True}],
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
                         ("CompetitionList", CompetitionListSchema), ("Standings", StandingsSchema),
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
    clock = components[EVENT_COMPONENTS["clock"]]
    clock["oneOf"] = [
        {"properties": {"action": {"enum": ["set"]}}, "required": ["elapsed"]},
        {"properties": {"action": {"enum": ["stop", "start"]}}, "not": {"required": ["elapsed"]}},
    ]
    components["EventInput"] = {
        "oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in EVENT_COMPONENTS.values()],
        "discriminator": {
            "propertyName": "type",
            "mapping": {kind: f"#/components/schemas/{name}" for kind, name in EVENT_COMPONENTS.items()},
        },
    }
