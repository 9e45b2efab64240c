"""Configuration: config/default.toml < environment < CLI flags, and clear errors."""
from __future__ import annotations

import subprocess
import sys

import pytest

from scoreboard.settings import DEFAULT_CONFIG, FIELDS, Settings, SettingsError, load_settings, read_config_file

from support import ROOT


def test_layers_override_in_order():
    """Environment beats the file, flags beat the environment; platform names are honoured."""
    settings = load_settings(
        {"port": "9100"},
        env={"PORT": "9000", "HOST": "0.0.0.0", "SCOREBOARD_API_KEYS": "a, b", "SCOREBOARD_DB": "x.db"},
    )
    assert settings.port == 9100
    assert settings.host == "0.0.0.0"
    assert settings.api_keys == ("a", "b")
    assert settings.db == "x.db"


def test_default_file_names_every_setting_with_the_dataclass_default():
    """config/default.toml is the documented source of defaults and stays in step."""
    table = read_config_file(DEFAULT_CONFIG)
    assert set(table) == set(FIELDS)
    assert Settings(**table) == Settings()


@pytest.mark.parametrize("env, words", [
    ({"PORT": "eighty"}, "PORT"),
    ({"PORT": "70000"}, "port"),
    ({"SCOREBOARD_LOG_FORMAT": "xml"}, "log_format"),
    ({"REDIS_URL": "http://x"}, "redis_url"),
    ({"WEB_CONCURRENCY": "0"}, "web_concurrency"),
])
def test_bad_settings_name_themselves(env, words):
    """A bad value raises SettingsError whose message names the setting."""
    with pytest.raises(SettingsError, match=words):
        load_settings({}, env=env)


def test_bad_setting_stops_startup_with_one_line():
    """The CLI prints one clear line, not a traceback, and exits non-zero."""
    result = subprocess.run(
        [sys.executable, "-m", "scoreboard", "serve"], cwd=ROOT, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "PORT": "not-a-port"}, timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["scoreboard: bad setting: PORT: 'not-a-port' is not an integer"]
    assert "Traceback" not in result.stdout + result.stderr


def test_help_documents_every_option():
    """`python -m scoreboard --help` lists a flag for every setting and the replay command."""
    result = subprocess.run([sys.executable, "-m", "scoreboard", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for name in FIELDS:
        assert "--" + name.replace("_", "-") in result.stdout
    assert "replay" in result.stdout
