"""Helpers shared by the tests: real clients, real server processes, no mocks."""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


async def create_match(client: Any, match_id: str = "arg-fra", **extra: Any) -> dict[str, Any]:
    body = {"id": match_id, "home": "Argentina", "away": "France", **extra}
    response = await client.post("/api/matches", json=body, headers=AUTH)
    assert response.status == 201, await response.text()
    return await response.json()


async def post_events(client: Any, match_id: str, body: Any, status: int = 201) -> dict[str, Any]:
    response = await client.post(f"/api/matches/{match_id}/events", json=body, headers=AUTH)
    assert response.status == status, await response.text()
    return await response.json()


async def receive_json(ws: Any, timeout: float = 3.0) -> dict[str, Any]:
    return await asyncio.wait_for(ws.receive_json(), timeout)


async def assert_nothing_arrives(ws: Any, within: float = 0.3) -> None:
    with pytest.raises(asyncio.TimeoutError):
        message = await asyncio.wait_for(ws.receive(), within)
        pytest.fail(f"unexpected message: {message}")


async def read_sse_event(response: Any, timeout: float = 3.0) -> dict[str, str]:
    """One `id/event/data` block from an SSE stream, skipping keep-alive comments."""
    fields: dict[str, str] = {}
    while True:
        line = (await asyncio.wait_for(response.content.readline(), timeout)).decode().rstrip("\r\n")
        if not line:
            if fields:
                return fields
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(": ")
        fields[name] = value


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick), for a server to bind."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 20.0) -> None:
    """Return once GET `url` answers 200; RuntimeError with the server's log when the process
    exits first or nothing answers within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early ({process.returncode}):\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout}s:\n{log_path.read_text()}")


@dataclass
class ServerProcess:
    """The real service started as `make run` starts it, on a free port; it may be stopped and
    started again on the same port and SQLite file. `command` and `cwd` run another copy of it
    (an installed wheel's `scoreboard` script, outside the checkout)."""

    port: int
    db: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    api_key: str = KEY
    command: tuple[str, ...] = (sys.executable, "-m", "scoreboard")
    cwd: Path = ROOT

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str, env: dict[str, str] | None = None, timeout: float = 20.0) -> None:
        """Start it and return once /healthz answers; `env` is added to this process's own."""
        self.log_path = self.db.with_suffix(".log")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.command, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--db", str(self.db), "--api-keys", self.api_key, *extra],
                cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            )
        try:
            wait_until_serving(f"{self.url}/healthz", self.process, self.log_path, timeout)
        except RuntimeError:
            self.stop()
            raise

    def stop(self, sig: int = 15, timeout: float = 30.0) -> int:
        """Signal it (SIGTERM by default) and return its exit code; killed if it hangs."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
