"""`bench/run.py --quick --push-only` end to end: the push run pushes to every subscription
through the real sender process, its sample decrypts and verifies, and fans get every card."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(150)
def test_quick_push_run_reaches_every_subscription(tmp_path: Path) -> None:
    """300 subscriptions, 300 pushes received, the sampled ones verified, no errors, a figure per target."""
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--push-only", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=140,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    push = json.loads((tmp_path / "latest.json").read_text())["push"]
    assert push["pushes_received"] == push["subscriptions"] == 300
    assert push["pushes_verified"] >= 1 and push["push_problems"] == []
    assert push["errors"] == [] and push["sender_processes"] == 1
    assert push["pushes_per_s"] > 0 and push["quiet_p99_ms"] and push["burst_p99_ms"]
    assert "Push: one goal to 300 subscriptions" in (tmp_path / "latest.md").read_text()
