"""The processes the benchmark measures: our server (SQLite or Redis), the textbook baseline,
and a redis-server of the benchmark's own.

Each runs as a child process pinned to CPU 0 when `taskset` and a second core exist (the load
generator gets CPU 1), so the two sides never share a core and /proc CPU figures are the
server's own.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from procstat import free_port

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
KEY = "bench-key"
# scoreboard: the embedded default (SQLite); redis: the same server with REDIS_URL set;
# baseline: bench/baseline_server.py, the textbook aiohttp loop.
KINDS = ("scoreboard", "redis", "baseline")


def pinning() -> tuple[list[str], list[str]]:
    """taskset prefixes for the server (CPU 0) and the load generator (CPU 1), if possible."""
    if shutil.which("taskset") and len(os.sched_getaffinity(0)) >= 2:
        cpus = sorted(os.sched_getaffinity(0))
        return ["taskset", "-c", str(cpus[0])], ["taskset", "-c", str(cpus[1])]
    return [], []


@dataclass
class ServerSpec:
    """How to start one server process; the same spec starts its successor in a deploy storm."""

    kind: str
    port: int
    workdir: Path
    pin: list[str] = field(default_factory=list)
    redis_url: str = ""
    # SQLite file (kind "scoreboard"), or the Redis key prefix (kind "redis"): one per spec,
    # shared by every process started from it, as a platform's processes share the store.
    db: Path | None = None
    prefix: str = ""
    # bench/patched_serve.py patches (comma-separated) to serve with; connect_profile.py only.
    patches: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown server kind {self.kind!r}")
        if self.kind == "redis" and not self.redis_url:
            raise ValueError("a redis server spec needs redis_url")
        if self.db is None:
            self.db = self.workdir / f"bench-{self.port}.db"
        if not self.prefix:
            self.prefix = f"bench-{uuid.uuid4().hex[:8]}:"

    def command(self) -> list[str]:
        if self.kind == "baseline":
            return [*self.pin, sys.executable, str(BENCH / "baseline_server.py"),
                    "--host", "127.0.0.1", "--port", str(self.port)]
        entry = [str(BENCH / "patched_serve.py"), "--patch", self.patches, "--"] if self.patches else ["-m", "scoreboard"]
        command = [*self.pin, sys.executable, *entry, "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--api-keys", KEY]
        if self.kind == "scoreboard":
            command += ["--db", str(self.db)]
        return command

    def env(self) -> dict[str, str]:
        # The per-key ingest rate limit protects production from a runaway scorekeeper; the
        # ingest benchmark is that runaway by design, so it is lifted here.
        # The push run's local push service listens on 127.0.0.1 over http, which the outbound
        # guard refuses by default, and its 20,000 subscriptions all come from 127.0.0.1,
        # which the per-address push limits exist to refuse.
        env = {**os.environ, "SCOREBOARD_INGEST_RATE": "0", "WEB_CONCURRENCY": "1",
               "SCOREBOARD_OUTBOUND_ALLOW_PRIVATE": "true", "SCOREBOARD_PUSH_SUBSCRIBE_RATE": "0",
               "SCOREBOARD_PUSH_MAX_PER_CLIENT": "0"}
        env.pop("REDIS_URL", None)
        if self.kind == "redis":
            env.update(REDIS_URL=self.redis_url, SCOREBOARD_REDIS_PREFIX=self.prefix)
        return env

    def start(self, log_path: Path) -> subprocess.Popen[bytes]:
        """Start a process; taskset execs the command, so the child's pid is the server's."""
        with open(log_path, "ab") as log:
            return subprocess.Popen(self.command(), cwd=REPO, env=self.env(), stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(proc: subprocess.Popen[bytes], port: int, timeout: float = 30.0) -> None:
    """Until GET /healthz answers 200; raises RuntimeError if the process exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no answer on /healthz in {timeout:.0f} s")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, as a platform stops a process; SIGKILL if it is still there after `timeout`."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Server:
    """One server process under load; a context manager that always stops it."""

    def __init__(self, kind: str, workdir: Path, pin: list[str], redis_url: str = "") -> None:
        self.kind = kind
        self.spec = ServerSpec(kind, free_port(), workdir, pin, redis_url)
        self.port = self.spec.port
        self.log_path = workdir / f"{kind}-{self.port}.log"

    def __enter__(self) -> Server:
        self.proc = self.spec.start(self.log_path)
        try:
            wait_healthy(self.proc, self.port)
        except RuntimeError as exc:
            self.__exit__()
            raise RuntimeError(f"{self.kind}: {exc}:\n{self.log_tail()}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.proc)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


class RedisServer:
    """A redis-server of the benchmark's own: a free port, a temp dir, no persistence.

    Never the shared one on 6379. Pinned with the server (CPU 0): on a platform Redis is
    another machine; here the two cores are the server's and the load generator's, and the
    load generator's core must stay its own for its CPU figure to mean anything.
    """

    def __init__(self, workdir: Path, pin: list[str]) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = workdir / f"redis-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / "redis.log"
        self.command = [*pin, binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                        "--logfile", str(self.log), "--save", "", "--appendonly", "no"]

    def __enter__(self) -> RedisServer:
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not (self.log.exists() and "Ready to accept" in self.log.read_text(errors="replace")):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"redis-server did not start:\n{self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
