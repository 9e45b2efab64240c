"""Configuration: config/default.toml < environment < CLI flags, and clear errors."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from scoreboard.settings import FIELDS, Settings, SettingsError, _defaults_from, _opt, load_settings, read_config_file

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


def test_defaults_are_the_ones_written_in_config_default_toml():
    """Every setting's default is the value config/default.toml (the file users read) gives it."""
    table = read_config_file(ROOT / "config" / "default.toml")
    assert set(table) == set(FIELDS)
    defaults = Settings()
    for name, value in table.items():
        assert getattr(defaults, name) == value, name
    assert Settings(**table) == defaults


@pytest.mark.parametrize("toml, words", [
    ('port = 8080\n', "without a default ['host']"),
    ('host = "h"\nport = 8080\nhots = "typo"\n', "unknown settings ['hots']"),
    ('host = "h"\nport = "eighty"\n', "port: 'eighty' is not an integer"),
])
def test_a_defaults_file_that_drifts_from_the_fields_is_refused(toml, words):
    """A setting added without a default in the file, a stray or mistyped name in it, or a value
    of the wrong type stops the settings class from loading, naming what is wrong."""
    class Small:
        host: str = _opt("interface")
        port: int = _opt("TCP port")

    with pytest.raises(SettingsError, match=re.escape(words)):
        _defaults_from(toml, "default.toml")(Small)


def test_a_config_file_overrides_only_what_it_names(tmp_path):
    """SCOREBOARD_CONFIG names a file of one's own; settings it leaves out keep their defaults."""
    own = tmp_path / "own.toml"
    own.write_text('port = 9001\nallowed_origins = ["https://example.org"]\n')
    settings = load_settings({}, env={"SCOREBOARD_CONFIG": str(own)})
    assert (settings.port, settings.allowed_origins) == (9001, ("https://example.org",))
    assert settings.host == Settings().host


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
