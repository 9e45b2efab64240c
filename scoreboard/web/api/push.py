"""Web Push at the HTTP edge: the server key, push subscriptions, and the service worker.

Anyone may subscribe to public matches and teams; a private match needs a viewer token for it
(`?token=` or `Authorization: Bearer`), as reading it would. The answer's `token` manages that
one subscription (`Authorization: Bearer <token>` on GET, PUT, DELETE); it is stored hashed.

Subscribing needs no key, so it is where abuse would come in: POST and PUT are rate limited
per client address (push_subscribe_rate/_burst, cluster-wide in Redis mode), a subscription
follows at most push_max_matches matches and push_max_teams teams, and the subscriptions made
from one address (push_max_per_client) and in all (push_max_subscriptions) are capped.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError

from ...errors import MatchNotFound
from ...notify import schemas
from ...notify.models import PushSubscription
from ...notify.service import NotifyService
from ...resources import STATIC, data_dir
from ..errors import read_json
from ..keys import PUSH_SUBSCRIBE_LIMITER_KEY, SERVICE_KEY, SETTINGS_KEY
from ..security.limits import client_address
from ..security.viewer import refusal, viewer_from_request

NOTIFY_KEY = web.AppKey("notify", NotifyService)
routes = web.RouteTableDef()


@routes.get("/api/push/key")
async def push_key(request: web.Request) -> web.Response:
    """The application server key browsers pass to PushManager.subscribe()."""
    return web.json_response({"public_key": request.app[NOTIFY_KEY].public_key})


@routes.post("/api/push/subscriptions")
async def subscribe(request: web.Request) -> web.Response:
    client = await _charge(request)
    data = _load(request, schemas.SubscribeSchema, await read_json(request))
    await _check_matches(request, data["matches"])
    subscription, token = await request.app[NOTIFY_KEY].subscribe(data["subscription"], data, client)
    location = str(request.app.router["push_subscription"].url_for(subscription_id=subscription.id))
    return web.json_response({**subscription.view(), "token": token}, status=201,
                             headers={"Location": location, "Cache-Control": "no-store"})


@routes.get("/api/push/subscriptions/{subscription_id}", name="push_subscription")
async def get_subscription(request: web.Request) -> web.Response:
    subscription = await _managed(request)
    return web.json_response(subscription.view(), headers={"Cache-Control": "no-store"})


@routes.put("/api/push/subscriptions/{subscription_id}")
async def update_subscription(request: web.Request) -> web.Response:
    await _charge(request)
    subscription = await _managed(request)
    data = _load(request, schemas.UpdateSubscriptionSchema, await read_json(request))
    # Only newly named matches need a token now: the others were granted when first named.
    await _check_matches(request, [m for m in data["matches"] if m not in subscription.matches])
    updated = await request.app[NOTIFY_KEY].update_subscription(subscription, data["subscription"], data)
    return web.json_response(updated.view(), headers={"Cache-Control": "no-store"})


@routes.delete("/api/push/subscriptions/{subscription_id}")
async def delete_subscription(request: web.Request) -> web.Response:
    subscription = await _managed(request)
    await request.app[NOTIFY_KEY].unsubscribe(subscription)
    return web.Response(status=204)


async def service_worker(request: web.Request) -> web.FileResponse:
    """/sw.js from the site's root, so its scope is every page; never cached stale."""
    return web.FileResponse(data_dir(STATIC) / "sw.js", headers={
        "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache",
        "Service-Worker-Allowed": "/",
    })


async def _charge(request: web.Request) -> str:
    """Count this request against its client address's rate (429 rate_limited past it);
    returns the address."""
    client = client_address(request, request.app[SETTINGS_KEY].trust_forwarded)
    pending = request.app[PUSH_SUBSCRIBE_LIMITER_KEY].charge(client)
    if pending is not None:
        await pending
    return client


def _load(request: web.Request, schema: type[Schema], body: Any) -> dict[str, Any]:
    settings = request.app[SETTINGS_KEY]
    data = schemas.load(schema, body)
    schemas.check_caps(data, settings.push_max_matches, settings.push_max_teams)
    return data


async def _managed(request: web.Request) -> PushSubscription:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    given = token.strip() if scheme.lower() == "bearer" else None
    return await request.app[NOTIFY_KEY].subscription(request.match_info["subscription_id"], given)


async def _check_matches(request: web.Request, match_ids: list[str]) -> None:
    """Every named match exists, and a private one is open to this request's viewer token."""
    missing: dict[str, Any] = {}
    for index, match_id in enumerate(match_ids):
        try:
            view = await request.app[SERVICE_KEY].get_match(match_id)
        except MatchNotFound:
            missing[str(index)] = [f"no match {match_id!r}"]
            continue
        if view.get("private") and not viewer_from_request(request).may_view(match_id):
            raise refusal(viewer_from_request(request), match_id)
    if missing:
        raise ValidationError({"matches": missing})


def setup_push_routes(app: web.Application) -> None:
    app.add_routes(routes)
    app.router.add_get("/sw.js", service_worker, name="service_worker")
