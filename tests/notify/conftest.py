"""Fixtures for notifications: the local push service, an app that may call it, helpers."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from push_service import PushService
from webhook_receiver import WebhookReceiver
from scoreboard.settings import Settings
from scoreboard.web.app import create_app
from support import KEY

SCOPED_KEY = "scoped-key"


def notify_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db": str(tmp_path / "scoreboard.db"), "api_keys": (KEY, f"{SCOPED_KEY}:scoped-match"),
        "outbound_allow_private": True, "ingest_rate": 0.0, "secret": "s" * 40,
        "vapid_subject": "mailto:ops@scoreboard.test",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    service = await PushService().start()
    yield service
    await service.stop()
    assert service.rejected == [], service.rejected


@pytest.fixture
async def notify_client(aiohttp_client: Any, tmp_path: Path) -> Any:
    """The app in-process, allowed to call local addresses, pushing from its own loop."""
    return await aiohttp_client(create_app(notify_settings(tmp_path, push_processes=0)))


async def subscribe(client: Any, body: dict[str, Any], status: int = 201, **kwargs: Any) -> dict[str, Any]:
    response = await client.post("/api/push/subscriptions", json=body, **kwargs)
    assert response.status == status, await response.text()
    return await response.json()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """A local webhook receiver that checks every signature it is sent."""
    site = await WebhookReceiver().start()
    yield site
    await site.stop()
    assert site.bad_signatures == 0
