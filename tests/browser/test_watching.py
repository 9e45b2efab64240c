""""N watching" on the match page and the embed card: counted live, in the viewer's own
number format, gone once the match is over."""
from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .conftest import HostSite, ServerProcess, expect, unique_id

INTERVAL = "0.3"  # seconds between counts (5 by default)


@pytest.fixture
def counting_server(browser: Any, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server that counts every 0.3 s, so a test sees a change within a second."""
    process = ServerProcess(tmp_path / "watching.db")
    process.start(env={"SCOREBOARD_WATCHING_INTERVAL": INTERVAL, "SCOREBOARD_PUSH_PROCESSES": "0"})
    yield process
    process.stop()


class Crowd:
    """`size` WebSocket fans of one match, held open from a thread of their own (Playwright's
    sync API owns this thread's event loop)."""

    def __init__(self, url: str, match_id: str, size: int) -> None:
        self._url = f"{url.replace('http', 'ws', 1)}/ws?matches={match_id}"
        self._size = size
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._session: aiohttp.ClientSession | None = None
        self._sockets: list[aiohttp.ClientWebSocketResponse] = []

    def __enter__(self) -> Crowd:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._gather(), self._loop).result(60)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._leave(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _gather(self) -> None:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        gate = asyncio.Semaphore(100)

        async def join() -> aiohttp.ClientWebSocketResponse:
            async with gate:
                assert self._session is not None
                ws = await self._session.ws_connect(self._url)
                assert (await ws.receive_json(timeout=20))["type"] == "snapshot"
                return ws

        self._sockets = list(await asyncio.gather(*(join() for _ in range(self._size))))

    async def _leave(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self._sockets))
        if self._session is not None:
            await self._session.close()


def live_match(server: ServerProcess, prefix: str) -> str:
    match_id = unique_id(prefix)
    server.request("POST", "/api/matches", {"id": match_id, "home": "Argentina", "away": "France"})
    server.post(match_id, {"type": "period_start"})
    return match_id


def test_match_page_counts_fans_as_they_come_and_go(counting_server: ServerProcess, browser: Any, page: Any) -> None:
    """The page counts itself, then a second fan's page, then drops back when it closes; the
    API agrees; the count goes once the match is over."""
    match_id = live_match(counting_server, "watch")
    page.goto(f"{counting_server.url}/matches/{match_id}")
    watching = page.locator(".hero .watching")
    expect(watching).to_have_text("1 watching")
    expect(watching.locator("svg")).to_be_visible()
    other = browser.new_context()
    try:
        other.new_page().goto(f"{counting_server.url}/matches/{match_id}")
        expect(watching).to_have_text("2 watching")
        assert counting_server.match(match_id)["watching"] == 2
    finally:
        other.close()
    expect(watching).to_have_text("1 watching")
    counting_server.post(match_id, {"type": "period_end", "final": True})
    expect(page.locator(".hero .status")).to_have_text("Full time")
    expect(watching).to_be_hidden()


def test_count_is_written_in_the_viewers_number_format(counting_server: ServerProcess, browser: Any) -> None:
    """1,200 fans read "1,200 watching" in English and "1.200 watching" in German, on the page
    (first paint included) and on the embed card; a compact card leaves it out."""
    match_id = live_match(counting_server, "crowd")
    with Crowd(counting_server.url, match_id, 1200):
        deadline = 10.0
        for _ in range(int(deadline / 0.2)):
            if counting_server.match(match_id)["watching"] == 1200:
                break
            threading.Event().wait(0.2)
        assert counting_server.match(match_id)["watching"] == 1200
        for locale, separator in (("en-US", ","), ("de-DE", ".")):
            context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
            try:
                page = context.new_page()
                page.goto(f"{counting_server.url}/matches/{match_id}")
                # This page is the 1,201st fan: the next count says so.
                expect(page.locator(".hero .watching")).to_have_text(f"1{separator}201 watching")
                page.goto(f"{counting_server.url}/embed/{match_id}")
                # 1,200 to 1,202, as the match page's fan leaves and the card's joins.
                expect(page.locator(".embed-foot .watching")).to_have_text(
                    re.compile(rf"^\s*1{re.escape(separator)}20[0-2] watching\s*$"))
                page.goto(f"{counting_server.url}/embed/{match_id}?compact=1")
                expect(page.locator("#match")).to_be_visible()
                assert page.locator(".watching").count() == 0
            finally:
                context.close()


WIDGETS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Scores</title></head><body>
<script src="{server}/static/widget.js" data-match="{match}" async></script>
<script src="{server}/static/widget.js" data-match="{match}" data-compact async></script>
</body></html>
"""


def test_widget_shows_the_count_unless_compact(
    counting_server: ServerProcess, host_site: HostSite, browser: Any, page: Any,
) -> None:
    """The script widget on another site shows "N watching" (its own connection counts once
    for both cards), follows a second fan's arrival, and the compact card leaves it out."""
    match_id = live_match(counting_server, "widget")
    host_site.pages["scores.html"] = WIDGETS.format(server=counting_server.url, match=match_id)
    page.goto(f"{host_site.url}/scores.html")
    full, compact = (page.locator(f'[data-scoreboard-match="{match_id}"]').nth(i) for i in (0, 1))
    expect(full.locator(".v")).to_have_text("1 watching")
    other = browser.new_context()
    try:
        other.new_page().goto(f"{counting_server.url}/matches/{match_id}")
        expect(full.locator(".v")).to_have_text("2 watching")
    finally:
        other.close()
    expect(compact.locator(".v")).to_be_hidden()
    counting_server.post(match_id, {"type": "period_end", "final": True})
    expect(full.locator(".v")).to_be_hidden()
