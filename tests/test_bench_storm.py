"""`bench/storm.py` at small N: a deploy under live fans loses, repeats and reorders nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from redis_server import require_redis

pytestmark = pytest.mark.slow  # a deploy of real server processes under live fans, twice

REPO = Path(__file__).resolve().parents[1]
FANS = 60


def storm(store: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "storm.py"), "--fans", str(FANS), "--store", store,
         "--before", "1.0", "--after", "0.5", "--max-seconds", "40"],
        cwd=REPO, capture_output=True, text=True, timeout=80,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.timeout(100)
@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_every_fan_resumes_after_a_deploy_with_every_event_once_in_order(store: str) -> None:
    """Fans told 1012 by a SIGTERMed server resume on its successor with exactly the events they missed."""
    if store == "redis":
        require_redis()
    result = storm(store)
    assert result["errors"] == [], result["errors"]
    # Every fan was told to reconnect, came back to the new process and resumed from its cursor.
    assert result["close_codes"].get("1012") == FANS, result["close_codes"]
    assert result["resumed"] == FANS and result["caught_up"] == FANS
    assert result["resume_snapshots"] == 0  # a replay, not a snapshot that skips the events
    # Events kept coming during the hand-over, some of them while no process listened.
    assert result["events_in_storm"] >= 3 and result["events"] >= result["events_in_storm"]
    assert result["expected_deliveries"] == FANS * result["events"]
    assert (result["drops"], result["duplicates"], result["out_of_order"], result["gaps"]) == (0, 0, 0, 0)
    assert result["received_deliveries"] == result["expected_deliveries"]
    assert result["all_caught_up_s"] is not None and result["old_exit_code"] == 0
