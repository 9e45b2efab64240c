"""Cross-instance delivery latency in Redis mode: POST on instance A -> frame on instance B.

Starts its own redis-server on a free port (in a temp dir, no persistence) unless --redis-url
is given, two `python -m scoreboard serve` processes on one REDIS_URL, one WebSocket fan on
each, then posts events to A one at a time and times, per event, from just before the POST
until the frame arrives on B (cross-instance) and on A (same instance: it also travels through
the stream). Prints median, p90, p99 and max in milliseconds.

    .venv/bin/python bench/redis_latency.py --events 2000
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"redis_latency: {what} did not start in {timeout} s")
        time.sleep(0.05)


def start_redis(stack: ExitStack, directory: Path) -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis_latency: redis-server not found; install it or pass --redis-url")
    port = free_port()
    log = directory / "redis.log"
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
         "--logfile", str(log), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    stack.callback(lambda: (process.terminate(), process.wait(10)))
    wait_for(lambda: log.exists() and "Ready to accept" in log.read_text(), "redis-server")
    return f"redis://127.0.0.1:{port}/0"


def start_instance(stack: ExitStack, redis_url: str, prefix: str, directory: Path) -> str:
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "SCOREBOARD_REDIS_PREFIX": prefix,
           "SCOREBOARD_API_KEYS": API_KEY, "SCOREBOARD_INGEST_RATE": "0",
           "SCOREBOARD_LOG_LEVEL": "warning", "WEB_CONCURRENCY": "1"}
    log = (directory / f"instance-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "scoreboard", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    stack.callback(lambda: (process.terminate(), process.wait(15), log.close()))

    def answering() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"redis_latency: instance exited:\n{(directory / log.name).read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    wait_for(answering, f"instance on port {port}")
    return f"http://127.0.0.1:{port}"


async def next_event(ws: aiohttp.ClientWebSocketResponse, seq: int) -> float:
    while True:
        message = json.loads((await ws.receive(timeout=10)).data)
        if message.get("type") == "event":
            if message["seq"] != seq:
                raise SystemExit(f"redis_latency: expected seq {seq}, got {message['seq']}")
            return time.perf_counter()


async def measure(a: str, b: str, events: int, warmup: int) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    match_id = f"bench-{uuid.uuid4().hex[:8]}"
    results: dict[str, list[float]] = {"cross_instance": [], "same_instance": [], "post": []}
    async with aiohttp.ClientSession(a) as on_a, aiohttp.ClientSession(b) as on_b:
        async with on_a.post("/api/matches", json={"id": match_id, "home": "A", "away": "B"},
                             headers=headers) as response:
            assert response.status == 201, await response.text()
        # Goals need a period in play: the kick-off is seq 1, the measured goals 2, 3, ...
        async with on_a.post(f"/api/matches/{match_id}/events", json={"type": "period_start"},
                             headers=headers) as response:
            assert response.status == 201, await response.text()
        fan_a = await on_a.ws_connect(f"/ws?matches={match_id}")
        fan_b = await on_b.ws_connect(f"/ws?matches={match_id}")
        for fan in (fan_a, fan_b):
            for _ in range(2):  # snapshot, subscribed
                await fan.receive(timeout=10)
        for n in range(1, warmup + events + 1):
            receipt_b = asyncio.ensure_future(next_event(fan_b, n + 1))
            receipt_a = asyncio.ensure_future(next_event(fan_a, n + 1))
            started = time.perf_counter()
            async with on_a.post(f"/api/matches/{match_id}/events",
                                 json={"type": "goal", "team": "home"},
                                 headers=headers) as response:
                assert response.status == 201, await response.text()
                answered = time.perf_counter()
            at_b, at_a = await asyncio.gather(receipt_b, receipt_a)
            if n > warmup:
                results["cross_instance"].append((at_b - started) * 1000)
                results["same_instance"].append((at_a - started) * 1000)
                results["post"].append((answered - started) * 1000)
        await fan_a.close()
        await fan_b.close()
    return results


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 3),
        "p90": round(ordered[int(0.90 * (len(ordered) - 1))], 3),
        "p99": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
        "max": round(ordered[-1], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events timed (default 2000)")
    parser.add_argument("--warmup", type=int, default=50, help="events posted first, not timed")
    parser.add_argument("--redis-url", default="", help="use this Redis instead of starting one")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="sb-latency-") as tmp:
        directory = Path(tmp)
        redis_url = args.redis_url or start_redis(stack, directory)
        prefix = f"bench-{uuid.uuid4().hex[:8]}:"
        a = start_instance(stack, redis_url, prefix, directory)
        b = start_instance(stack, redis_url, prefix, directory)
        results = asyncio.run(measure(a, b, args.events, args.warmup))
    figures = {name: summary(samples) for name, samples in results.items()}
    figures["events"] = args.events  # type: ignore[assignment]
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{args.events} events, posted one at a time to A (ms from just before the POST):")
        for name in ("cross_instance", "same_instance", "post"):
            row = figures[name]
            print(f"  {name:15} median {row['median']:7.3f}  p90 {row['p90']:7.3f}  "
                  f"p99 {row['p99']:7.3f}  max {row['max']:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
