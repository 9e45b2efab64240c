"""The README's first screen and the commands it gives a newcomer, run as written."""
from __future__ import annotations

import re
import subprocess

import pytest

from support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_name_sentence_and_the_two_commands() -> None:
    """The first screen: `# Scoreboard`, one sentence on what it is, then `make run` and `make test`."""
    blocks = README.split("\n\n")
    assert blocks[0] == "# Scoreboard"
    sentence = " ".join(blocks[1].split())
    assert sentence.endswith(".") and sentence.count(". ") == 0 and not sentence.startswith(("#", "`")), sentence
    assert blocks[2] == "```sh\nmake run\nmake test\n```"


def test_readme_runs_the_cli_with_the_venv_python() -> None:
    """Outside the platform's own start command (Procfile, Render), the README never tells a
    newcomer to run `python -m scoreboard`, which the system python cannot import."""
    for line in README.splitlines():
        for match in re.finditer(r"(\S*)python3? -m scoreboard", line):
            platform = any(word in line for word in ("Procfile", "web:", "Render", "start command"))
            assert match.group(1).endswith(".venv/bin/") or platform, line


def test_the_settings_help_command_in_the_readme_works() -> None:
    """The README's `--help` command lists every setting when run from the checkout as written."""
    commands = re.findall(r"`([^`]*scoreboard[^`]* --help)`", README)
    assert commands, "the README names no --help command"
    for command in commands:
        program = ROOT / command.split()[0]
        if not program.exists():
            pytest.skip(f"{program} is not installed here (make install creates it)")
        result = subprocess.run(command.split(), cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "--api-keys" in result.stdout and "SCOREBOARD_DEV_KEY" in result.stdout
