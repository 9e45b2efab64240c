"""One process per SQLite file (issue 10, item 8): a second `serve` on the same file refuses
to start with one line naming the file and the process holding it; the first keeps serving."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp

from support import AUTH, KEY, ROOT, ServerProcess, free_port


def second_serve(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scoreboard", "serve", "--port", str(free_port()), "--db", str(db),
         "--api-keys", KEY],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )


async def test_a_second_process_on_the_same_file_refuses_to_start(tmp_path: Path) -> None:
    """The second process exits 2 with one line naming the file and the first one's pid; the
    first still takes events; once it has stopped, the file can be served again."""
    first = ServerProcess(port=free_port(), db=tmp_path / "shared.db")
    first.start()
    try:
        async with aiohttp.ClientSession(first.url) as http:
            assert (await http.post("/api/matches", json={"id": "m", "home": "A", "away": "B"}, headers=AUTH)).status == 201
        second = second_serve(first.db)
        assert second.returncode == 2, second
        assert first.process is not None
        refusal = [line for line in second.stderr.splitlines() if line.strip()]
        assert len(refusal) == 1, second.stderr
        assert str(first.db) in refusal[0] and str(first.process.pid) in refusal[0], refusal
        assert "Traceback" not in second.stderr + second.stdout
        async with aiohttp.ClientSession(first.url) as http:
            answer = await http.post("/api/matches/m/events", json={"type": "period_start"}, headers=AUTH)
            assert answer.status == 201
    finally:
        first.stop()
    first.start()  # the lock went with the process that held it
    first.stop()
