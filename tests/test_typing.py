"""The package stays type-checked: mypy finds no errors in scoreboard/."""
from __future__ import annotations

import subprocess
import sys

from support import ROOT


def test_package_is_mypy_clean():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "scoreboard"], cwd=ROOT, capture_output=True, text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
