"""The event loop setting: uvloop when installed unless turned off, a clear error when missing."""
from __future__ import annotations

import sys

import aiohttp
import pytest

from scoreboard.server import loop_factory
from scoreboard.settings import SettingsError, load_settings
from support import AUTH

try:
    import uvloop
except ImportError:  # the `fast` extra is optional
    uvloop = None

needs_uvloop = pytest.mark.skipif(uvloop is None, reason="uvloop (the `fast` extra) is not installed")


def test_asyncio_setting_never_uses_uvloop():
    """event_loop=asyncio gives asyncio's own loop even with uvloop installed."""
    assert loop_factory("asyncio") is None


@needs_uvloop
def test_auto_and_uvloop_use_uvloop_when_installed():
    """auto and uvloop both pick uvloop's loop when it is importable."""
    assert loop_factory("auto") is uvloop.new_event_loop
    assert loop_factory("uvloop") is uvloop.new_event_loop


def test_auto_falls_back_and_uvloop_fails_without_it(monkeypatch):
    """Without uvloop, auto quietly uses asyncio's loop and uvloop raises ImportError."""
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` raise ImportError
    assert loop_factory("auto") is None
    with pytest.raises(ImportError):
        loop_factory("uvloop")


def test_bad_event_loop_setting_names_itself():
    """An unknown loop name is refused with a message naming the setting."""
    with pytest.raises(SettingsError, match="event_loop"):
        load_settings({}, env={"SCOREBOARD_EVENT_LOOP": "trio"})


async def _ingest_once(url: str) -> int:
    async with aiohttp.ClientSession(headers=AUTH, timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with http.post(f"{url}/api/matches", json={"id": "loop-m", "home": "A", "away": "B"}) as answer:
            assert answer.status == 201
        async with http.post(f"{url}/api/matches/loop-m/events", json={"type": "period_start"}) as answer:
            return answer.status


@pytest.mark.parametrize("setting, expected", [
    ("asyncio", "asyncio loop"),
    pytest.param("auto", "uvloop loop", marks=needs_uvloop),
])
async def test_real_server_runs_on_the_chosen_loop(server_process, setting, expected):
    """The started service says which loop it runs on, and takes a durable event on it."""
    server_process.start(env={"SCOREBOARD_EVENT_LOOP": setting})
    assert await _ingest_once(server_process.url) == 201
    assert server_process.stop(2) == 0
    log = server_process.log_path.read_text()
    assert expected in log, log


def test_uvloop_setting_without_uvloop_stops_startup(server_process, tmp_path):
    """event_loop=uvloop with uvloop missing: exit 2 with one actionable line, no traceback."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "uvloop.py").write_text("raise ImportError('hidden for the test')\n")
    with pytest.raises(RuntimeError, match="uvloop is not installed"):
        server_process.start(env={"SCOREBOARD_EVENT_LOOP": "uvloop", "PYTHONPATH": str(hide)})
    assert server_process.process is not None
    assert server_process.process.wait(10) == 2
    assert "Traceback" not in server_process.log_path.read_text()
