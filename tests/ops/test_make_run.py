"""`make run` as the README starts it: the dev key works, PORT picks the port, and a SIGTERM to
make (what a supervisor or a platform sends) drains and stops the server instead of orphaning it."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from support import ROOT, free_port

pytestmark = pytest.mark.timeout(120)


def children(pid: int) -> list[int]:
    """Every descendant of `pid`, from /proc (Linux)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *children(kid)]
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_healthy(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"make run did not answer /healthz on PORT={port}:\n{log.read_text()}")


def post(port: int, path: str, body: object, key: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_sigterm_to_make_run_drains_and_stops_the_server(tmp_path: Path) -> None:
    """SIGTERM to make's pid reaches the server on PORT: a POST in flight is answered 201, then
    the server process is gone and the port is closed."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in ("SCOREBOARD_API_KEYS", "SCOREBOARD_DEV_KEY", "SCOREBOARD_CONFIG")}
    env.update(PORT=str(port), SCOREBOARD_DB=str(tmp_path / "run.db"), PYTHONUNBUFFERED="1")
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        make = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(port, make, log)
        # The README's curl steps: make run accepts the built-in dev-key.
        assert post(port, "/api/matches", {"id": "m1", "home": "A", "away": "B"}, "dev-key") == 201
        server_pids = children(make.pid)
        assert server_pids, "make run has no child process"

        body = json.dumps([{"type": "period_start"}, {"type": "goal", "team": "home"}]).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                f"POST /api/matches/m1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer dev-key\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body[:10])
            time.sleep(0.3)   # the handler is now waiting for the rest of the body
            os.kill(make.pid, signal.SIGTERM)
            time.sleep(0.3)
            sock.sendall(body[10:])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 201"), answer[:200]

        make.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in server_pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in server_pids), f"left running: {server_pids}\n{log.read_text()}"
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
        assert "SIGTERM received" in log.read_text()
    finally:
        # make leads its own process group: this also ends a server it left behind.
        try:
            os.killpg(make.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        make.wait(timeout=10)
