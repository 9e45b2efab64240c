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
    endpoint = await request.app[NOTIFY_KEY].create_endpoint(data)
    location = str(request.app.router["webhook"].url_for(webhook_id=endpoint.id))
    # The secret is shown this once: the receiver needs it to check signatures.
    return web.json_response({**endpoint.view(), "secret": endpoint.secret}, status=201,
                             headers={"Location": location, "Cache-Control": "no-store"})


@routes.get("/api/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    _require_operator(request)
    endpoints = await request.app[NOTIFY_KEY].endpoints()
    return web.json_response({"webhooks": [e.view() for e in endpoints]})


@routes.get("/api/webhooks/{webhook_id}", name="webhook")
async def get_webhook(request: web.Request) -> web.Response:
    _require_operator(request)
    endpoint = await request.app[NOTIFY_KEY].endpoint(request.match_info["webhook_id"])
    return web.json_response(endpoint.view())


@routes.delete("/api/webhooks/{webhook_id}")
async def delete_webhook(request: web.Request) -> web.Response:
    _require_operator(request)
    await request.app[NOTIFY_KEY].delete_endpoint(request.match_info["webhook_id"])
    return web.Response(status=204)


@routes.get("/api/webhooks/{webhook_id}/deliveries")
async def webhook_deliveries(request: web.Request) -> web.Response:
    """Recent attempts (newest first, at most 100) and how many deliveries wait."""
    _require_operator(request)
    return web.json_response(await request.app[NOTIFY_KEY].deliveries(request.match_info["webhook_id"]))
