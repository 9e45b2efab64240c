"""The notification API's part of the OpenAPI document (merged by scoreboard/web/api/openapi.py):
request bodies from the schemas that validate them, answer shapes described here once."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..domain import EVENT_TYPES
from .alerts import ALERT_KINDS
from .schemas import (
    RotateSecretSchema, SubscribeSchema, UpdateSubscriptionSchema, WebhookCreateSchema, WebhookUpdateSchema,
)


class PushKeySchema(Schema):
    public_key = fields.String(required=True, metadata={
        "description": "the VAPID public key (base64url P-256 point): PushManager.subscribe's applicationServerKey"})


class PushSubscriptionViewSchema(Schema):
    id = fields.String(required=True)
    endpoint_origin = fields.String(required=True, metadata={"description": "the push service it goes to"})
    matches = fields.List(fields.String(), required=True)
    teams = fields.List(fields.String(), required=True)
    events = fields.List(fields.String(validate=validate.OneOf(ALERT_KINDS)), required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class PushSubscriptionCreatedSchema(PushSubscriptionViewSchema):
    token = fields.String(required=True, metadata={
        "description": "manages this subscription (Authorization: Bearer); shown only here"})


class WebhookDisabledSchema(Schema):
    at = fields.String(required=True, metadata={"format": "date-time"})
    reason = fields.String(required=True)


class WebhookSchema(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), required=True,
                         metadata={"description": "empty: every type"})
    matches = fields.List(fields.String(), required=True, metadata={"description": "empty: every match"})
    description = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    disabled = fields.Nested(WebhookDisabledSchema, required=True, allow_none=True,
                             metadata={"description": "null while deliveries are made; PATCH enabled=true resumes"})
    previous_secret_expires_at = fields.String(required=True, allow_none=True, metadata={
        "format": "date-time", "description": "after a rotation: until when the old secret signs too (a second v1)"})


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(required=True, metadata={
        "description": "HMAC-SHA256 key of Scoreboard-Signature; shown only here"})


class WebhookListSchema(Schema):
    webhooks = fields.List(fields.Nested(WebhookSchema), required=True)


class DeliveryAttemptSchema(Schema):
    event_id = fields.String(required=True, metadata={"description": "the Scoreboard-Event-Id header: <match id>:<seq>"})
    match_id = fields.String(required=True)
    seq = fields.Integer(required=True)
    attempt = fields.Integer(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})
    status = fields.Integer(required=True, allow_none=True, metadata={"description": "the receiver's HTTP status"})
    error = fields.String(required=True, allow_none=True)
    duration_ms = fields.Float(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(("delivered", "retrying", "gave_up", "expired")),
                            metadata={"description": "gave_up: the endpoint was disabled; expired: deliveries "
                                                     "queued over webhook_max_age ago were dropped (error says how many)"})


class WebhookDeliveriesSchema(Schema):
    endpoint = fields.Nested(WebhookSchema, required=True)
    pending = fields.Integer(required=True, metadata={"description": "deliveries waiting in its queue"})
    deliveries = fields.List(fields.Nested(DeliveryAttemptSchema), required=True,
                             metadata={"description": "the last 100 attempts, newest first"})


COMPONENTS: dict[str, type[Schema]] = {
    "PushKey": PushKeySchema, "PushSubscriptionView": PushSubscriptionViewSchema,
    "PushSubscriptionCreated": PushSubscriptionCreatedSchema, "Webhook": WebhookSchema,
    "WebhookCreated": WebhookCreatedSchema, "WebhookList": WebhookListSchema,
    "WebhookDeliveries": WebhookDeliveriesSchema,
}

SUBSCRIPTION_ID = {"name": "subscription_id", "in": "path", "required": True, "schema": {"type": "string"}}
WEBHOOK_ID = {"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "string"}}
SUBSCRIPTION_SECURITY: list[dict[str, list[str]]] = [{"subscriptionToken": []}]
OPERATOR: list[dict[str, list[str]]] = [{"scorekeeper": []}]
BODY_ERRORS = (400, 401, 403, 404, 413, 415, 422, 503)
MANAGE_ERRORS = (401, 403, 404, 503)
SECURITY_SCHEMES = {
    "subscriptionToken": {"type": "http", "scheme": "bearer",
                          "description": "the token POST /api/push/subscriptions answered with"},
}


def _json(schema: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ok(status: int, description: str, schema: Any) -> dict[str, Any]:
    return {str(status): {"description": description, "content": _json(schema)}}


def _no_content(description: str) -> dict[str, Any]:
    return {"204": {"description": description}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": "#/components/responses/Error"} for status in statuses}


OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "/api/push/key": {
        "get": {
            "summary": "The Web Push application server key", "operationId": "getPushKey", "security": [{}],
            "responses": {**_ok(200, "The VAPID public key", "PushKey"), **_errors(404, 503)},
        },
    },
    "/api/push/subscriptions": {
        "post": {
            "summary": "Subscribe a browser to pushes for matches and teams",
            "description": ("`subscription` is the browser's PushSubscription JSON. Its endpoint must be "
                            "https on a public address. A private match needs its viewer token "
                            "(`?token=` or `Authorization: Bearer`). A browser subscribing again "
                            "replaces its earlier subscription. Limits (README \"Security\"): requests "
                            "per client address (429 `rate_limited` with Retry-After), subscriptions made "
                            "from one address (429 `quota_exceeded`) and in all (507 `insufficient_storage`), "
                            "matches and teams per subscription (422)."),
            "operationId": "createPushSubscription",
            "security": [{}, {"viewerToken": []}],
            "requestBody": {"required": True, "content": _json(SubscribeSchema)},
            "responses": {**_ok(201, "Subscribed; keep the token", "PushSubscriptionCreated"),
                          **_errors(*BODY_ERRORS, 429, 507)},
        },
    },
    "/api/push/subscriptions/{subscription_id}": {
        "get": {
            "summary": "What a push subscription follows", "operationId": "getPushSubscription",
            "security": SUBSCRIPTION_SECURITY, "parameters": [SUBSCRIPTION_ID],
            "responses": {**_ok(200, "The subscription", "PushSubscriptionView"), **_errors(*MANAGE_ERRORS)},
        },
        "put": {
            "summary": "Change what a push subscription follows (or renew its browser keys)",
            "description": ("The whole choice, as on POST. `subscription`, when given, is the browser's "
                            "renewed PushSubscription (the service worker sends it on "
                            "`pushsubscriptionchange`). Rate limited per client address like POST."),
            "operationId": "updatePushSubscription", "security": SUBSCRIPTION_SECURITY,
            "parameters": [SUBSCRIPTION_ID],
            "requestBody": {"required": True, "content": _json(UpdateSubscriptionSchema)},
            "responses": {**_ok(200, "The subscription", "PushSubscriptionView"), **_errors(*BODY_ERRORS, 429)},
        },
        "delete": {
            "summary": "Unsubscribe", "operationId": "deletePushSubscription", "security": SUBSCRIPTION_SECURITY,
            "parameters": [SUBSCRIPTION_ID],
            "responses": {**_no_content("Deleted"), **_errors(*MANAGE_ERRORS)},
        },
    },
    "/api/webhooks": {
        "post": {
            "summary": "Register a webhook endpoint (a key with no match scope)",
            "description": "Deliveries are signed POSTs; see README \"Webhooks\" for verifying them.",
            "operationId": "createWebhook", "security": OPERATOR,
            "requestBody": {"required": True, "content": _json(WebhookCreateSchema)},
            "responses": {**_ok(201, "Registered; keep the secret", "WebhookCreated"), **_errors(*BODY_ERRORS)},
        },
        "get": {
            "summary": "Every webhook endpoint", "operationId": "listWebhooks", "security": OPERATOR,
            "responses": {**_ok(200, "The endpoints", "WebhookList"), **_errors(401, 403, 503)},
        },
    },
    "/api/webhooks/{webhook_id}": {
        "get": {
            "summary": "One webhook endpoint (disabled says why)", "operationId": "getWebhook",
            "security": OPERATOR, "parameters": [WEBHOOK_ID],
            "responses": {**_ok(200, "The endpoint", "Webhook"), **_errors(*MANAGE_ERRORS)},
        },
        "patch": {
            "summary": "Change a webhook endpoint, or pause and resume it",
            "description": ("Fields left out stay. `{\"enabled\": true}` resumes a disabled endpoint: its "
                            "outbox (events keep joining it while disabled) is sent in order, except what was "
                            "queued over `webhook_max_age` ago, which is dropped and listed as an `expired` "
                            "attempt. `{\"enabled\": false}` pauses it the same way."),
            "operationId": "updateWebhook", "security": OPERATOR, "parameters": [WEBHOOK_ID],
            "requestBody": {"required": True, "content": _json(WebhookUpdateSchema)},
            "responses": {**_ok(200, "The endpoint", "Webhook"), **_errors(*BODY_ERRORS)},
        },
        "delete": {
            "summary": "Delete a webhook endpoint and its queue", "operationId": "deleteWebhook",
            "security": OPERATOR, "parameters": [WEBHOOK_ID],
            "responses": {**_no_content("Deleted"), **_errors(*MANAGE_ERRORS)},
        },
    },
    "/api/webhooks/{webhook_id}/rotate-secret": {
        "post": {
            "summary": "Give a webhook endpoint a new secret",
            "description": ("The answer shows the new secret once. For `previous_valid_for` seconds (default "
                            "24 h, 0 = none) deliveries carry a `v1` for the new secret and one for the old, "
                            "so the receiver can switch without refusing any."),
            "operationId": "rotateWebhookSecret", "security": OPERATOR, "parameters": [WEBHOOK_ID],
            "requestBody": {"required": False, "content": _json(RotateSecretSchema)},
            "responses": {**_ok(200, "Rotated; keep the new secret", "WebhookCreated"), **_errors(*BODY_ERRORS)},
        },
    },
    "/api/webhooks/{webhook_id}/deliveries": {
        "get": {
            "summary": "Recent delivery attempts and failures", "operationId": "listWebhookDeliveries",
            "security": OPERATOR, "parameters": [WEBHOOK_ID],
            "responses": {**_ok(200, "Attempts, newest first", "WebhookDeliveries"), **_errors(*MANAGE_ERRORS)},
        },
    },
}

EXAMPLES: dict[tuple[str, str], list[Any]] = {
    ("/api/push/subscriptions", "post"): [{
        "subscription": {
            "endpoint": "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bH",
            "expirationTime": None,
            "keys": {"p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
                     "auth": "BTBZMqHH6r4Tts7J_aSIgg"},
        },
        "matches": ["arg-fra"], "teams": ["Argentina"], "events": ["goal", "full_time"],
    }],
    ("/api/push/subscriptions/{subscription_id}", "put"): [{"teams": ["Argentina", "France"]}],
    ("/api/webhooks", "post"): [{"url": "https://club.example/hooks/scores", "events": ["goal", "retract"],
                                 "matches": ["arg-fra"]}],
    ("/api/webhooks/{webhook_id}", "patch"): [{"enabled": True}],
    ("/api/webhooks/{webhook_id}/rotate-secret", "post"): [{"previous_valid_for": 3600}],
}
