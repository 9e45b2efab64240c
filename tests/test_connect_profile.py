"""`bench/connect_profile.py` briefly: every variant serves fans, and every patch still finds what it switches off."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a server process per variant

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from patched_serve import PATCHES  # noqa: E402

RESULT = re.compile(r"^run 1 (\S+)\s+connect\s+([\d.]+) µs/conn", re.MULTILINE)


@pytest.mark.timeout(240)
def test_every_variant_connects_its_fans_and_reports_cpu_per_connection() -> None:
    """The service, each patched service, the floor and the textbook loop each take 300 fans and report CPU."""
    variants = ["base", *PATCHES, "floor", "textbook"]
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "connect_profile.py"), "--fans", "300", "--events", "5",
         "--runs", "1", "--resume", "--variants", ",".join(variants)],
        cwd=REPO, capture_output=True, text=True, timeout=230,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    measured = dict(RESULT.findall(done.stdout))
    assert sorted(measured) == sorted(variants), done.stdout
    assert all(float(us) > 0 for us in measured.values()), measured
