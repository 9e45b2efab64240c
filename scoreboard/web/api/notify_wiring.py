"""Wiring of notifications: the NotifyService, its routes, metrics and lifetime. Called once
by create_app after the event store's lifetime is registered (the notifier reads the log at
start, so the store must be open first, and closes before it)."""
from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import Counter

from ...notify.service import NotifyService
from ..keys import SERVICE_KEY, SETTINGS_KEY
from ..metrics import METRICS_KEY
from .push import NOTIFY_KEY, setup_push_routes
from .webhooks import routes as webhook_routes

PUSH_OUTCOMES = ("sent", "gone", "failed", "stale", "superseded")


def setup_notify(app: web.Application) -> NotifyService:
    pushes = Counter("scoreboard_pushes", "Web Push messages by outcome (gone: subscription deleted)",
                     ["outcome"], registry=app[METRICS_KEY].registry)
    by_outcome = {outcome: pushes.labels(outcome) for outcome in PUSH_OUTCOMES}
    notify = NotifyService(app[SETTINGS_KEY], app[SERVICE_KEY].store,
                           on_push=lambda outcome, count: by_outcome[outcome].inc(count))
    app[NOTIFY_KEY] = notify
    setup_push_routes(app)
    app.add_routes(webhook_routes)
    app.cleanup_ctx.append(_notify_lifetime)
    return notify


async def _notify_lifetime(app: web.Application) -> AsyncIterator[None]:
    notify = app[NOTIFY_KEY]
    await notify.start()
    yield
    await notify.stop()
