"""Real `redis-server` processes for tests: a free port, a temp dir, never the shared 6379.

Each server keeps its files in its own directory, so a killed server restarted on the same
port finds its append-only file again when it was started with `persistent=True`.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT = 10.0


def require_redis() -> None:
    """Skip when redis-server is missing; fail instead when SCOREBOARD_REQUIRE_REDIS=1 (CI)."""
    if Path(REDIS_SERVER).exists():
        return
    message = "redis-server is not installed (apt-get install redis-server)"
    if os.environ.get("SCOREBOARD_REQUIRE_REDIS") == "1":
        pytest.fail(f"Redis tests required but {message}")
    pytest.skip(message)


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    ca: Path


def make_self_signed(directory: Path) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, as hosted Redis offerings present."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "redis.crt", directory / "redis.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=scoreboard-test-redis", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return TlsFiles(cert=cert, key=key, ca=cert)


class RedisServer:
    """One redis-server: `start()`, `kill()` (SIGKILL, as a crash), `start()` again on the same port."""

    def __init__(self, directory: Path, *, persistent: bool = False, tls: TlsFiles | None = None) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.persistent = persistent
        self.tls = tls
        self.log = directory / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        command = [REDIS_SERVER, "--bind", "127.0.0.1", "--dir", str(self.directory),
                   "--logfile", str(self.log), "--save", "", "--daemonize", "no"]
        if self.persistent:
            # Every acknowledged write is on disk before the reply: a SIGKILL loses nothing.
            command += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            command += ["--appendonly", "no"]
        if self.tls:
            command += ["--port", "0", "--tls-port", str(self.port),
                        "--tls-cert-file", str(self.tls.cert), "--tls-key-file", str(self.tls.key),
                        "--tls-ca-cert-file", str(self.tls.ca), "--tls-auth-clients", "no"]
        else:
            command += ["--port", str(self.port)]
        return command

    def start(self) -> None:
        assert self.process is None, "already running"
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                self.process = None
                raise RuntimeError(f"redis-server exited: {error}\n{self._log_since(offset)}")
            # The line is written once the data set (AOF) is loaded and the port is open.
            if "Ready to accept connections" in self._log_since(offset):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server not ready in {START_TIMEOUT} s:\n{self._log_since(offset)}")

    def kill(self) -> None:
        """Crash it: SIGKILL, no shutdown save; the port is free again when this returns."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def _log_since(self, offset: int) -> str:
        if not self.log.exists():
            return ""
        with self.log.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")
