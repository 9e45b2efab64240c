"""What a Heroku-like platform needs from the repository, and the ephemeral-disk warning."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from scoreboard.server import ephemeral_storage_warning
from scoreboard.settings import Settings, load_settings
from support import ROOT, free_port, wait_until_serving

pytestmark = pytest.mark.timeout(60)


def test_buildpack_files() -> None:
    """Procfile, requirements.txt and .python-version are what the Python buildpack reads."""
    assert (ROOT / "Procfile").read_text().strip() == "web: scoreboard serve --host 0.0.0.0"
    requirements = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    # The package built and installed as a wheel, with uvloop: the dyno runs the installed
    # `scoreboard` script, not the checkout (tests/ops/test_wheel.py serves from such an install).
    assert requirements == [".[fast]"]
    assert (ROOT / ".python-version").read_text().strip().startswith("3.11")


def test_app_json_declares_redis_and_config_vars() -> None:
    """app.json: web formation, the Redis add-on, a required key list, a generated secret."""
    app = json.loads((ROOT / "app.json").read_text())
    assert app["formation"]["web"]["quantity"] == 1
    assert any(addon["plan"].startswith("heroku-redis") for addon in app["addons"])
    assert app["buildpacks"] == [{"url": "heroku/python"}]
    env = app["env"]
    assert env["SCOREBOARD_API_KEYS"]["required"] is True
    assert env["SCOREBOARD_SECRET"]["generator"] == "secret"
    assert env["WEB_CONCURRENCY"]["value"] == "1"
    # Every config var is a real setting (or a platform variable the service reads).
    for name in env:
        assert load_settings(env={name: env[name].get("value", "x" * 40)}) is not None


@pytest.mark.parametrize("env, warned", [
    ({"DYNO": "web.1"}, "Heroku or Dokku"),
    ({"RENDER": "true"}, "Render"),
    ({}, None),
])
def test_ephemeral_warning_by_platform(env: dict[str, str], warned: str | None) -> None:
    """SQLite on Heroku, Dokku or Render is warned about; on a plain host it is not."""
    message = ephemeral_storage_warning(Settings(), env)
    if warned is None:
        assert message is None
    else:
        assert message is not None and warned in message and "REDIS_URL" in message


def test_ephemeral_warning_by_setting_and_not_with_redis() -> None:
    """`ephemeral_disk` turns the warning on elsewhere; REDIS_URL turns it off everywhere."""
    assert ephemeral_storage_warning(Settings(ephemeral_disk=True), {}) is not None
    assert ephemeral_storage_warning(load_settings(env={"SCOREBOARD_EPHEMERAL_DISK": "true"}), {}) is not None
    redis = Settings(redis_url="redis://localhost:6379/0")
    assert ephemeral_storage_warning(redis, {"DYNO": "web.1"}) is None


def test_procfile_command_on_a_dyno(tmp_path: Path) -> None:
    """The Procfile's command with a dyno's environment listens on $PORT and warns about the disk."""
    command = shlex.split((ROOT / "Procfile").read_text().split(":", 1)[1])
    assert command[0] == "scoreboard"
    script = Path(sys.executable).parent / "scoreboard"  # the console script pip installed
    port = free_port()
    log_path = tmp_path / "dyno.log"
    env = {**os.environ, "PORT": str(port), "DYNO": "web.1", "SCOREBOARD_API_KEYS": "k",
           "SCOREBOARD_DB": str(tmp_path / "dyno.db"), "PYTHONUNBUFFERED": "1", "WEB_CONCURRENCY": "1"}
    env.pop("REDIS_URL", None)
    with log_path.open("wb") as log:
        # The last --host wins: the test listens on loopback only.
        process = subprocess.Popen([str(script), *command[1:], "--host", "127.0.0.1"],
                                   cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/healthz", process, log_path)
    finally:
        process.terminate()
        assert process.wait(30) == 0
    assert "without REDIS_URL" in log_path.read_text()
