"""Shared fixtures: a real app on a temp SQLite file, a real server process on a free port."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from scoreboard.settings import Settings
from scoreboard.web.app import create_app
from support import KEY, ServerProcess, ServiceTestServer, free_port

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=str(tmp_path / "scoreboard.db"), api_keys=(KEY, "scoped-key:scoped-match"))


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> Any:
    """A client of the app served as `scoreboard serve` serves it (support.ServiceTestServer).

    Each request on a connection of its own, as a browser opens each WebSocket: so a
    WebSocket meets the front door (web/live/front.py) as a fan's does, not a keep-alive
    connection a POST used before it (tests/test_front_door.py covers that way too)."""
    return await aiohttp_client(ServiceTestServer(create_app(settings)),
                                connector=aiohttp.TCPConnector(force_close=True))


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(port=free_port(), db=tmp_path / "served.db")
    yield server
    if server.process is not None and server.process.poll() is None:
        server.process.kill()
        server.process.wait(5)


# Whole folders of slow tests (`make test-fast` leaves out what is marked slow): real Chromium
# driven by Playwright, and several instances or workers on a real redis-server.
SLOW_FOLDERS = {"browser", "scaling"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the slow folders' tests `slow`, and run the browser tests last.

    Playwright's sync API keeps an event loop running in the main thread for as long as its
    session-wide browser is open; asyncio tests started after it would find that loop.
    """
    for item in items:
        if SLOW_FOLDERS & set(item.path.relative_to(TESTS).parts[:-1]):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: "browser" in item.path.parts)
