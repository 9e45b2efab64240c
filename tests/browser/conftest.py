"""Browser tests: the real server as a subprocess, Debian's Chromium driven by Playwright.

Skipped when Playwright or Chromium is missing, unless SCOREBOARD_REQUIRE_BROWSER=1 (CI),
where a missing browser fails the run instead. A failing test leaves a screenshot in
tests/browser/artifacts/.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:  # test modules import `expect` from here, so collection works without Playwright
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips (or fails under REQUIRE_BROWSER)
    expect = None

from support import ServerProcess as SharedServerProcess
from support import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("SCOREBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
API_KEY = "testkey"


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class ServerProcess(SharedServerProcess):
    """The suite's ServerProcess (support.py), plus the API calls the browser tests make."""

    def __init__(self, db: Path) -> None:
        super().__init__(port=free_port(), db=db, api_key=API_KEY)

    def request(self, method: str, path: str, body: Any = None, key: str | None = API_KEY) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(f"{self.url}{path}", data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode(errors="replace")) from None

    def create_match(self, home: str, away: str, match_id: str | None = None) -> dict[str, Any]:
        body = {"home": home, "away": away}
        if match_id:
            body["id"] = match_id
        return self.request("POST", "/api/matches", body)

    def post(self, match_id: str, *events: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", f"/api/matches/{match_id}/events", list(events))

    def events(self, match_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/api/matches/{match_id}/events?since=0", key=None)["events"]

    def match(self, match_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/matches/{match_id}", key=None)


_ids = iter(range(1, 10**6))


def unique_id(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_ids)}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    missing = _browser_missing()
    if missing:
        if os.environ.get("SCOREBOARD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the tests that do not stop it."""
    process = ServerProcess(tmp_path_factory.mktemp("server") / "scoreboard.db")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def own_server(browser: Any, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own, which it may stop and start again on the same port and
    SQLite file (each start without SCOREBOARD_SECRET signs viewer tokens with a new key)."""
    process = ServerProcess(tmp_path / "own.db")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    context.set_default_timeout(15000)  # a wait, not a speed goal: parallel test workers share 2 cores
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None)
    request.node.browser_page = page
    request.node.browser_problems = problems
    yield page
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    page = getattr(item, "browser_page", None)
    if page is not None and not page.is_closed():
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', item.name)}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            report.sections.append(("screenshot", str(path)))
        except Exception as exc:  # a crashed page must not hide the real failure
            report.sections.append(("screenshot", f"failed: {exc}"))
    problems = getattr(item, "browser_problems", None)
    if problems:
        report.sections.append(("browser console", "\n".join(problems)))


class HostSite:
    """A second aiohttp server on another port (so another origin) serving given pages."""

    def __init__(self) -> None:
        self.port = free_port()
        self.pages: dict[str, str] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: Any = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self) -> None:
        from aiohttp import web

        async def serve_page(request: web.Request) -> web.Response:
            body = self.pages.get(request.match_info["name"])
            if body is None:
                raise web.HTTPNotFound()
            return web.Response(text=body, content_type="text/html")

        async def setup() -> None:
            app = web.Application()
            app.router.add_get("/{name}", serve_page)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

        self._thread.start()
        asyncio.run_coroutine_threadsafe(setup(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def host_site(browser: Any) -> Iterator[HostSite]:
    site = HostSite()
    site.start()
    yield site
    site.stop()
