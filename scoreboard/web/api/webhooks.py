"""Webhooks at the HTTP edge: scorekeepers with an unscoped key register signed callbacks.

A key scoped to some matches is refused (403): an endpoint may ask for every match, and
registering one is an operator's act, not a single match's scorekeeper's.
"""
from __future__ import annotations

from aiohttp import web

from ...notify import schemas
from ..errors import read_json
from ..keys import KEYRING_KEY
from ..security.auth import Forbidden
from .push import NOTIFY_KEY

routes = web.RouteTableDef()


def _require_operator(request: web.Request) -> None:
    key = request.app[KEYRING_KEY].authenticate(request.headers.get("Authorization"))
    if key.matches is not None:
        raise Forbidden("webhooks need a scorekeeper key with no match scope")


@routes.post("/api/webhooks")
async def create_webhook(request: web.Request) -> web.Response:
    _require_operator(request)
    data = schemas.load(schemas.WebhookCreateSchema, await read_json(request))
    endpoint = await request.app[NOTIFY_KEY].webhooks.create(data)
    location = str(request.app.router["webhook"].url_for(webhook_id=endpoint.id))
    # The secret is shown this once: the receiver needs it to check signatures.
    return web.json_response({**endpoint.view(), "secret": endpoint.secret}, status=201,
                             headers={"Location": location, "Cache-Control": "no-store"})


@routes.get("/api/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    _require_operator(request)
    endpoints = await request.app[NOTIFY_KEY].webhooks.every()
    return web.json_response({"webhooks": [e.view() for e in endpoints]})


@routes.get("/api/webhooks/{webhook_id}", name="webhook")
async def get_webhook(request: web.Request) -> web.Response:
    _require_operator(request)
    endpoint = await request.app[NOTIFY_KEY].webhooks.get(request.match_info["webhook_id"])
    return web.json_response(endpoint.view())


@routes.patch("/api/webhooks/{webhook_id}")
async def update_webhook(request: web.Request) -> web.Response:
    """Change an endpoint; `{"enabled": true}` resumes a disabled one from its outbox."""
    _require_operator(request)
    data = schemas.load(schemas.WebhookUpdateSchema, await read_json(request))
    endpoint = await request.app[NOTIFY_KEY].webhooks.update(request.match_info["webhook_id"], data)
    return web.json_response(endpoint.view())


@routes.post("/api/webhooks/{webhook_id}/rotate-secret")
async def rotate_webhook_secret(request: web.Request) -> web.Response:
    """A new secret, shown this once; the old one keeps signing for `previous_valid_for` s."""
    _require_operator(request)
    body = await read_json(request) if request.body_exists else {}
    data = schemas.load(schemas.RotateSecretSchema, body)
    endpoint = await request.app[NOTIFY_KEY].webhooks.rotate_secret(request.match_info["webhook_id"],
                                                           data["previous_valid_for"])
    return web.json_response({**endpoint.view(), "secret": endpoint.secret}, headers={"Cache-Control": "no-store"})


@routes.delete("/api/webhooks/{webhook_id}")
async def delete_webhook(request: web.Request) -> web.Response:
    _require_operator(request)
    await request.app[NOTIFY_KEY].webhooks.delete(request.match_info["webhook_id"])
    return web.Response(status=204)


@routes.get("/api/webhooks/{webhook_id}/deliveries")
async def webhook_deliveries(request: web.Request) -> web.Response:
    """Recent attempts (newest first, at most 100) and how many deliveries wait."""
    _require_operator(request)
    return web.json_response(await request.app[NOTIFY_KEY].webhooks.deliveries(request.match_info["webhook_id"]))
