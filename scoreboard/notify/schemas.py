"""marshmallow schemas of the notification API (push subscriptions and webhooks).

The same classes validate requests (web/api/push.py, web/api/webhooks.py) and describe them in
the OpenAPI document (openapi.py).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from ..domain import EVENT_TYPES, MATCH_ID_PATTERN
from .alerts import ALERT_KINDS
from .guard import MAX_URL_LENGTH
from .models import team_key

# Webhooks: an endpoint names matches in a list of this length at most. Push subscriptions
# have their own caps, settings (push_max_matches, push_max_teams), checked by `check_caps`.
MAX_MATCHES = 100
MATCH_ID = fields.String(validate=validate.Regexp(MATCH_ID_PATTERN, error="not a match id"))
MATCH_IDS = fields.List(MATCH_ID, load_default=list, validate=validate.Length(max=MAX_MATCHES),
                        metadata={"description": "match ids"})


class BrowserKeysSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    p256dh = fields.String(required=True, validate=validate.Length(min=1, max=200),
                           metadata={"description": "the browser's P-256 public key, base64url"})
    auth = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"description": "the 16-byte auth secret, base64url"})


class BrowserSubscriptionSchema(Schema):
    """What `PushSubscription.toJSON()` gives in the browser (extra fields are ignored)."""

    class Meta:
        unknown = EXCLUDE

    endpoint = fields.String(required=True, validate=validate.Length(min=1, max=MAX_URL_LENGTH))
    expirationTime = fields.Float(allow_none=True, load_default=None)  # noqa: N815 (the browser's name)
    keys = fields.Nested(BrowserKeysSchema, required=True)


def _choice_fields() -> dict[str, Any]:
    return {
        "matches": fields.List(MATCH_ID, load_default=list, metadata={
            "description": "match ids (at most push_max_matches: 100 by default)"}),
        "teams": fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list,
                             metadata={"description": "team names: every match of these teams "
                                                      "(at most push_max_teams: 20 by default)"}),
        "events": fields.List(fields.String(validate=validate.OneOf(ALERT_KINDS)),
                              load_default=lambda: list(ALERT_KINDS), validate=validate.Length(min=1),
                              metadata={"description": "alert kinds (default: all)"}),
    }


class SubscribeSchema(Schema.from_dict(_choice_fields())):  # type: ignore[misc]
    subscription = fields.Nested(BrowserSubscriptionSchema, required=True)

    @validates_schema
    def _something_followed(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("matches") and not data.get("teams"):
            raise ValidationError("follow at least one match or team", "matches")


class UpdateSubscriptionSchema(Schema.from_dict(_choice_fields())):  # type: ignore[misc]
    subscription = fields.Nested(BrowserSubscriptionSchema, load_default=None,
                                 metadata={"description": "a renewed browser subscription, if any"})

    @validates_schema
    def _something_followed(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("matches") and not data.get("teams"):
            raise ValidationError("follow at least one match or team (or DELETE the subscription)", "matches")


class WebhookCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=MAX_URL_LENGTH),
                        metadata={"description": "https URL that receives the signed POSTs"})
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), load_default=list,
                         metadata={"description": "event types (default: every type)"})
    matches = MATCH_IDS
    description = fields.String(load_default="", validate=validate.Length(max=200))


class WebhookUpdateSchema(Schema):
    """PATCH: the fields to change; `enabled: true` resumes a disabled endpoint."""

    url = fields.String(validate=validate.Length(min=1, max=MAX_URL_LENGTH),
                        metadata={"description": "https URL that receives the signed POSTs"})
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)),
                         metadata={"description": "event types (empty: every type)"})
    matches = fields.List(MATCH_ID, validate=validate.Length(max=MAX_MATCHES),
                          metadata={"description": "match ids (empty: every match)"})
    description = fields.String(validate=validate.Length(max=200))
    enabled = fields.Boolean(metadata={
        "description": "true: resume deliveries (the outbox within webhook_max_age, in order); "
                       "false: pause them (events keep joining the outbox)"})

    @validates_schema
    def _something_changed(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("name at least one of url, events, matches, description, enabled", "_schema")


MAX_PREVIOUS_VALID_FOR = 7 * 24 * 3600


class RotateSecretSchema(Schema):
    previous_valid_for = fields.Integer(
        load_default=24 * 3600, validate=validate.Range(min=0, max=MAX_PREVIOUS_VALID_FOR),
        metadata={"description": "seconds the current secret also signs deliveries (a second v1), so the "
                                 "receiver can switch over; 0 stops it at once (a leaked secret). Default 24 h"})


def check_caps(choice: dict[str, Any], max_matches: int, max_teams: int) -> None:
    """What a push subscription follows fits its caps (after de-duplication); raises
    ValidationError naming the list."""
    problems: dict[str, list[str]] = {}
    if len(choice.get("matches", ())) > max_matches:
        problems["matches"] = [f"at most {max_matches} matches per subscription (follow a team instead)"]
    if len(choice.get("teams", ())) > max_teams:
        problems["teams"] = [f"at most {max_teams} teams per subscription"]
    if problems:
        raise ValidationError(problems)


def _dedupe(values: list[str], key: Callable[[str], str] = str) -> list[str]:
    """First of each value (by `key`), in order."""
    first: dict[str, str] = {}
    for value in values:
        first.setdefault(key(value), value)
    return list(first.values())


def load(schema: type[Schema], data: Any) -> dict[str, Any]:
    """Load and de-duplicate the lists (order kept; teams by name as followed: "Spain" and
    "spain " are one); raises ValidationError."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["the body must be a JSON object"]})
    loaded: dict[str, Any] = schema().load(data)
    for name in ("matches", "teams", "events"):
        if name in loaded:
            loaded[name] = _dedupe(loaded[name], team_key if name == "teams" else str)
    return loaded
