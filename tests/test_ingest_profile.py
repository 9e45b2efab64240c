"""`bench/ingest_profile.py` end to end, briefly: the service and the floor both answer every POST."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs bench/ingest_profile.py against real servers

REPO = Path(__file__).resolve().parents[1]
RESULT = re.compile(r"^\s*(\d+) events/s\s+(\d+) µs CPU/event .* errors \{\}", re.MULTILINE)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("target", [[], ["--floor"]], ids=["service", "floor"])
def test_ingest_profile_reports_a_rate_and_no_errors(target: list[str]) -> None:
    """A short run acknowledges events with no error status and reports CPU per event."""
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "ingest_profile.py"), "--scorekeepers", "4",
         "--warmup", "0.2", "--duration", "0.5", *target],
        cwd=REPO, capture_output=True, text=True, timeout=80,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = RESULT.search(done.stdout)
    assert found is not None, done.stdout
    assert int(found.group(1)) > 0 and int(found.group(2)) > 0
