"""`bench/push_profile.py` end to end, briefly: the real sender process pushes to every
subscription, the push service's sample decrypts, and a CPU figure per push comes out."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the sender process and a local push service

REPO = Path(__file__).resolve().parents[2]
RESULT = re.compile(r"^run 1: 300 sent, 300 received, (\d+) verified, problems \[\]; .* sender ([\d.]+) µs/push",
                    re.MULTILINE)


@pytest.mark.timeout(90)
def test_push_profile_sends_every_push_and_reports_cpu_per_push() -> None:
    """300 pushes sent and received, at least one decrypted and verified, a sender CPU figure."""
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "push_profile.py"), "--subscriptions", "300", "--runs", "1",
         "--verify-every", "100"],
        cwd=REPO, capture_output=True, text=True, timeout=80,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = RESULT.search(done.stdout)
    assert found is not None, done.stdout + done.stderr[-3000:]
    assert int(found.group(1)) >= 1 and float(found.group(2)) > 0
