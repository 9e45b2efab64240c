"""Ingest cost on the embedded default: server CPU µs per acknowledged event, and events/s.

Starts `python -m scoreboard serve` on a fresh SQLite file pinned to one core, runs N
scorekeepers (one match each, single-event POSTs, keep-alive) from this process pinned to
another, and reads the server's utime+stime from /proc before and after the timed window, so
the figure holds on a machine other people are also using. Repeat with --runs.

    .venv/bin/python bench/ingest_profile.py --runs 3
    .venv/bin/python bench/ingest_profile.py --profile /tmp/ingest.prof   # cProfile the server
    .venv/bin/python bench/ingest_profile.py --floor   # bare aiohttp + uvloop, same requests

The floor answers the same POSTs with a body of the same shape and does nothing else (no
store, no validation, no middlewares, no log): what aiohttp and the kernel cost per request.
It runs far faster than the service, so more requests share each loop wake-up; at the
service's rate a request would cost it somewhat more.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpclient import Http, goal  # noqa: E402  (bench/ is scripts, not a package)

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-ingest-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_ticks(pid: int) -> int:
    return _ticks(Path(f"/proc/{pid}/stat"))


def _ticks(stat: Path) -> int:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15 of stat)


def _thread_ticks(pid: int) -> dict[str, int]:
    """utime+stime of the loop's thread ("loop") and of each other thread (by id)."""
    totals: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = "loop" if task.name == str(pid) else f"thread-{task.name}"
            totals[name] = _ticks(task / "stat")
        except OSError:
            pass  # the thread ended
    return totals


async def _wait_ready(url: str, deadline: float) -> None:
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url + "/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


async def _load(url: str, keepers: int, warmup: float, duration: float, pid: int) -> dict[str, Any]:
    host, port = url.rsplit("//", 1)[1].split(":")
    clients = [Http(host, int(port), KEY) for _ in range(keepers)]
    counts: dict[int, int] = {}
    window: dict[str, float] = {}
    per_thread: dict[str, int] = {}
    for n, http in enumerate(clients):
        for path, body in (("/api/matches", {"id": f"ing-{n}", "home": "A", "away": "B"}),
                           (f"/api/matches/ing-{n}/events", {"type": "period_start"})):
            status, answer = await http.request("POST", path, body)
            assert status == 201, answer
    started = time.monotonic()
    measure_from, measure_to = started + warmup, started + warmup + duration

    async def keeper(n: int, http: Http) -> None:
        path, index = f"/api/matches/ing-{n}/events", 0
        while time.monotonic() < measure_to:
            status, _ = await http.request("POST", path, goal(index, f"k{n}"))
            index += 1
            if "t0" in window and time.monotonic() <= measure_to:
                counts[status] = counts.get(status, 0) + 1

    async def clock() -> None:
        await asyncio.sleep(measure_from - time.monotonic())
        window["ticks0"], window["t0"] = _cpu_ticks(pid), time.monotonic()
        threads0 = _thread_ticks(pid)
        await asyncio.sleep(measure_to - time.monotonic())
        window["ticks1"], window["t1"] = _cpu_ticks(pid), time.monotonic()
        threads1 = _thread_ticks(pid)
        per_thread.update({name: ticks - threads0.get(name, 0) for name, ticks in threads1.items()})

    own0 = time.process_time()
    await asyncio.gather(clock(), *(keeper(n, http) for n, http in enumerate(clients)))
    for http in clients:
        http.close()
    ok = sum(n for status, n in counts.items() if status < 300)
    elapsed = window["t1"] - window["t0"]
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (window["ticks1"] - window["ticks0"]) / tick
    threads = {name: round(ticks / tick / max(ok, 1) * 1e6) for name, ticks in per_thread.items() if ticks}
    return {"events_per_s": ok / elapsed, "cpu_us_per_event": cpu / max(ok, 1) * 1e6,
            "server_cpu_share": cpu / elapsed, "errors": {s: n for s, n in counts.items() if s >= 300},
            "threads_us_per_event": threads,
            "loadgen_cpu_share": (time.process_time() - own0) / (time.monotonic() - started)}


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        env = {**os.environ, "SCOREBOARD_INGEST_RATE": "0", "SCOREBOARD_API_KEYS": KEY,
               "SCOREBOARD_SECRET": "x" * 32, **dict(kv.split("=", 1) for kv in args.env)}
        python = [sys.executable]
        if args.profile:
            python += ["-m", "cProfile", "-o", args.profile]
        if args.floor:
            target = [str(Path(__file__).resolve()), FLOOR_SERVER]
        else:
            target = [args.server_script] if args.server_script else ["-m", "scoreboard"]
        cmd = ["taskset", "-c", args.server_cpu, *python, *target, "serve",
               "--port", str(port), "--db", f"{tmp}/bench.db"]
        log = open(f"{tmp}/server.log", "w")
        server = subprocess.Popen(cmd, cwd=args.tree or ROOT, env=env, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(_wait_ready(url, time.monotonic() + 15))
            return asyncio.run(_load(url, args.scorekeepers, args.warmup, args.duration, server.pid))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(20)
            log.close()


FLOOR_SERVER = "--floor-server"


def serve_floor(port: int) -> None:
    """aiohttp on uvloop answering the bench's requests with bodies of the service's shape."""
    import uvloop
    from aiohttp import web

    seqs: dict[str, int] = {}

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"id": body["id"]}, status=201)

    async def post(request: web.Request) -> web.Response:
        event = await request.json()
        match_id = request.match_info["match_id"]
        seq = seqs[match_id] = seqs.get(match_id, 0) + 1
        return web.json_response({"events": [{"seq": seq, **event}], "seq": seq,
                                  "score": {"home": 0, "away": 0}}, status=201)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/matches", create)
    app.router.add_post("/api/matches/{match_id}/events", post)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop())


def main() -> None:
    if sys.argv[1:2] == [FLOOR_SERVER]:  # run_once starting the floor: "... serve --port N --db F"
        serve_floor(int(sys.argv[sys.argv.index("--port") + 1]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scorekeepers", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    parser.add_argument("--server-script", help="run this script instead of the service (a floor to compare with)")
    parser.add_argument("--floor", action="store_true", help="measure bare aiohttp + uvloop instead (see above)")
    parser.add_argument("--tree", help="run the service from this copy of the repository (A/B runs)")
    parser.add_argument("--profile", help="write the server's cProfile here (one run)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.client_cpu})
    try:
        import uvloop  # the load generator should cost the client core as little as it can

        uvloop.install()
    except ImportError:
        pass
    results = []
    for _ in range(args.runs):
        result = run_once(args)
        results.append(result)
        print(f"{result['events_per_s']:8.0f} events/s  {result['cpu_us_per_event']:6.0f} µs CPU/event  "
              f"server CPU {result['server_cpu_share']:.0%}  loadgen CPU {result['loadgen_cpu_share']:.0%}  errors {result['errors']}  "
              f"µs/event by thread {result['threads_us_per_event']}", flush=True)
    if len(results) > 1:
        print(f"median: {statistics.median(r['events_per_s'] for r in results):.0f} events/s, "
              f"{statistics.median(r['cpu_us_per_event'] for r in results):.0f} µs CPU/event")


if __name__ == "__main__":
    main()
