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
from aiohttp.test_utils import TestServer
from yarl import URL

from scoreboard.listener import listen
from scoreboard.server import connection_guard

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


async def receive_json(ws: Any, timeout: float = 3.0, *, watching: bool = False) -> dict[str, Any]:
    """The next message; `watching` fan counts (sent every watching_interval to a match's fans,
    whenever a test happens to run that long) are passed over unless `watching` is True."""
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.receive_json()
            if watching or message.get("type") != "watching":
                return message


async def assert_nothing_arrives(ws: Any, within: float = 0.3, *, watching: bool = False) -> None:
    """Nothing but (unless `watching`) fan counts arrives within `within` seconds."""
    with pytest.raises(asyncio.TimeoutError):
        message = await receive_json(ws, within, watching=watching)
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


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 20.0,
                       log_from: int = 0) -> None:
    """Return once GET `url` answers 200 and the process's own log (past byte `log_from`) says
    it listens: free_port's pick is no reservation, and another test's server that got the same
    port must not pass for this one. RuntimeError with the server's log when the process exits
    first or it is not serving within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early ({process.returncode}):\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200 and SERVING in log_since(log_path, log_from):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout}s:\n{log_path.read_text()}")


SERVING = "scoreboard serving on http"   # the line a server logs once it listens (server.py)
PORT_TAKEN = "address already in use"   # its log when the port is taken, lower-cased


def log_since(log_path: Path, offset: int) -> str:
    with log_path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


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
    started: bool = False   # once it has served, a restart keeps its port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str, env: dict[str, str] | None = None, timeout: float = 20.0,
              open_files: int | None = None) -> None:
        """Start it and return once /healthz answers; `env` is added to this process's own;
        `open_files`: its open-file limit (ulimit -n)."""
        self.log_path = self.db.with_suffix(".log")

        def limit_open_files() -> None:
            if open_files is not None:
                import resource

                resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

        for attempt in range(3):
            log_from = self.log_path.stat().st_size if self.log_path.exists() else 0
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [*self.command, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                     "--db", str(self.db), "--api-keys", self.api_key, *extra],
                    cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                    preexec_fn=limit_open_files if open_files is not None else None,
                )
            try:
                wait_until_serving(f"{self.url}/healthz", self.process, self.log_path, timeout, log_from)
            except RuntimeError:
                self.stop()
                # Another test's server bound this port between free_port() and here: a first
                # start moves to another free port (a restart must keep its own).
                port_taken = PORT_TAKEN in log_since(self.log_path, log_from).lower()
                if self.started or not port_taken or attempt == 2:
                    raise
                self.port = free_port()
                continue
            self.started = True
            return

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


@dataclass
class RawAnswer:
    """An HTTP answer read off a raw socket."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


async def raw_exchange(port: int, request: bytes, timeout: float = 5.0) -> RawAnswer:
    """Send `request` bytes as they are (headers no client library would send) and read one
    answer; the connection is closed after it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
        return RawAnswer(int(status_line.split()[1]), headers, body)
    finally:
        writer.close()


def raw_request(method: str, path: str, headers: bytes = b"", body: bytes = b"") -> bytes:
    """An HTTP/1.1 request as bytes; `headers` are extra raw header lines, each ending in CRLF."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode() + headers
    if body:
        head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    return head + b"\r\n" + body


def error_of(answer: RawAnswer) -> dict[str, Any]:
    """The `error` object of an answer in the documented error shape (asserts the shape)."""
    assert answer.headers.get("content-type", "").startswith("application/json"), answer
    body = answer.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str), body
    return body["error"]


class ServiceTestServer(TestServer):
    """aiohttp's TestServer, listening the way `scoreboard serve` does (server.connection_guard):
    each new connection meets the listener's front door, where a /ws upgrade is opened at once
    (web/live/front.py), before aiohttp. The `client` fixture serves through it, so the suite's
    WebSocket tests cover the path fans take in production; aiohttp's own TestServer covers
    the route's (ws.py), which the front door leaves some upgrades to."""

    _listener: asyncio.AbstractServer | None = None

    async def start_server(self, loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any) -> None:
        if self.runner:
            return
        self.runner = await self._make_runner(handler_cancellation=True, **kwargs)
        await self.runner.setup()
        assert self.runner.server is not None
        self._listener = await listen(connection_guard(self.app, self.runner.server, 10_000), self.host, 0)
        self.port = self._listener.sockets[0].getsockname()[1]
        self.scheme = "http"
        self._root = URL(f"http://{self.host}:{self.port}")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        await super().close()
