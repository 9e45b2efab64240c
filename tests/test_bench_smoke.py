"""`bench/run.py --quick` end to end: real servers, real load generator, every delivery accounted for."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from redis_server import require_redis

pytestmark = pytest.mark.slow  # runs the benchmark's quick mode: servers, load generator, baseline

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(150)
def test_quick_bench_delivers_everything_once_in_order(tmp_path: Path) -> None:
    """Every server (SQLite, Redis, textbook) delivers every event to every subscriber once and in order."""
    require_redis()
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--deflate", "both",
         "--sections", "ingest,fanout", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=140,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "latest.json").read_text())
    assert (tmp_path / "latest.md").read_text().startswith("Scoreboard benchmark")

    assert [row["clients"] for row in report["fanout"]] == ["plain", "deflate offered"]
    for row in report["fanout"]:
        # Compression is declined by our server either way: Redis mode runs with plain clients.
        kinds = ("scoreboard", "redis", "baseline") if row["clients"] == "plain" else ("scoreboard", "baseline")
        assert set(kinds) <= set(row), row.keys()
        for kind in kinds:
            result = row[kind]
            where = f"{kind}, {row['clients']}"
            assert result["connected"] == result["subscribers"] == 200, where
            assert result["expected_deliveries"] == 200 * (5 + 10), where
            assert result["received_deliveries"] == result["expected_deliveries"], where
            assert (result["drops"], result["duplicates"], result["out_of_order"]) == (0, 0, 0), where
            assert result["unexpected"] == 0 and result["errors"] == [], where
            assert result["closed_by_server"] == 0, where
            assert result["connect_s"] > 0 and result["connect_server_us"] is not None, where
        assert row["ratios"]["cpu_us_per_delivery"] is not None
    assert report["fanout"][0]["redis_ratios"]["connect_s"] is not None
    for kind in ("scoreboard", "baseline"):
        ingest = report["ingest"][kind]
        assert ingest["acknowledged"] > 0 and ingest["failed"] == 0, kind
