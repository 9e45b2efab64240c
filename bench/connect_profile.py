"""What a fan's connection costs the server, from TCP accept to its first snapshot, and what each part costs.

For each variant a fresh server (pinned to CPU 0) gets a match with some events, then this
process (CPU 1) connects `--fans` WebSocket fans 100 at a time until each has its snapshot,
closes them (close frame 1001, as a browser tab does) and, with `--resume`, connects them
again with `since` at the match's seq (a deploy's resume: catch-up, no snapshot). Server
CPU per connection comes from /proc, split into user and kernel time. Variants run
interleaved, `--runs` times each; the medians are printed.

Variants: `base` (the service as it is), any `bench/patched_serve.py` patch (the service with
one piece of work switched off: its difference to `base` is that piece's price), `floor`
(bare aiohttp + uvloop + our take-over writing a pre-built snapshot: what aiohttp's request
handling and the kernel cost per connection) and `textbook` (bench/baseline_server.py).

    .venv/bin/python bench/connect_profile.py --fans 5000 --runs 3 \\
        --variants base,no-access-log,no-live-log,no-access-checks,floor,textbook --resume
    .venv/bin/python bench/connect_profile.py --py-spy /tmp/connect   # where base's connect CPU goes
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpclient import Http, expect_2xx, goal  # noqa: E402  (bench/ is scripts, not a package)
from loadgen import Run, Subscriber, connect_all, run_on_loop  # noqa: E402
from patched_serve import PATCHES  # noqa: E402
from procstat import cpu_times, free_port, own_cpu_s, raise_nofile  # noqa: E402
from spy_summary import summarize_py_spy  # noqa: E402
from servers import KEY, REPO, RedisServer, ServerSpec, pinning, stop, wait_healthy  # noqa: E402
from wsclient import perf  # noqa: E402

FLOOR_SERVER = "--floor-server"


class Fan(Subscriber):
    """A subscriber that can say when its connection is gone."""

    def __init__(self, run: Run, request: bytes, ready_on: str = "snapshot") -> None:
        super().__init__(run, request, ready_on)
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_lost(self, exc: Exception | None) -> None:
        super().on_lost(exc)
        if not self.gone.done():
            self.gone.set_result(None)


async def phase(pid: int, work: Any) -> dict[str, float]:
    (user0, sys0), own0, t0 = cpu_times(pid), own_cpu_s(), perf()
    count = await work()
    (user1, sys1), own1, t1 = cpu_times(pid), own_cpu_s(), perf()
    return {"us": (user1 + sys1 - user0 - sys0) * 1e6 / count, "user_us": (user1 - user0) * 1e6 / count,
            "kernel_us": (sys1 - sys0) * 1e6 / count, "wall_s": t1 - t0,
            "loadgen_share": (own1 - own0) / max(t1 - t0, 1e-9)}


async def crowd(args: argparse.Namespace, pid: int, port: int, path: str, n: int, ready_on: str,
                spy: Path | None = None) -> dict[str, Any]:
    """Connect n fans, then close them all; CPU of each half."""
    run = Run(1)
    fans: list[Fan] = []

    async def connect() -> int:
        fans.extend(await connect_all(run, "127.0.0.1", port, path, n, False, make=Fan, ready_on=ready_on))  # type: ignore[arg-type]
        return len(fans)

    async def close() -> int:
        for fan in fans:
            fan.send(0x8, (1001).to_bytes(2, "big"))
        await asyncio.wait_for(asyncio.gather(*(fan.gone for fan in fans)), 60)
        # The server's side of each close (its connection_lost, the closing log line) may run
        # just after ours: wait for it here rather than bill it to the next phase.
        await asyncio.sleep(0.5)
        return len(fans)

    recorder = start_py_spy(pid, spy) if spy else None
    connecting = await phase(pid, connect)
    if recorder is not None:
        finish_py_spy(recorder)
    if run.errors:
        raise RuntimeError(f"connect errors: {run.errors[:5]}")
    closing = await phase(pid, close)
    return {"connect": connecting, "close": closing}


async def measure(args: argparse.Namespace, pid: int, port: int, spy: Path | None) -> dict[str, Any]:
    http = Http("127.0.0.1", port, KEY)
    match_id = f"profile-{os.getpid()}"
    await expect_2xx(http, "POST", "/api/matches", {"id": match_id, "home": "Argentina", "away": "France"})
    view: dict[str, Any] = await expect_2xx(http, "POST", f"/api/matches/{match_id}/events",
                                            {"id": "kickoff", "type": "period_start", "period": 1})
    for i in range(args.events):
        view = await expect_2xx(http, "POST", f"/api/matches/{match_id}/events", goal(i, "pre"))
    http.close()
    path = f"/ws?matches={match_id}"
    await crowd(args, pid, port, path, 200, "snapshot")  # warm the code paths and caches
    result = {"fresh": await crowd(args, pid, port, path, args.fans, "snapshot", spy and spy / "fresh.txt")}
    if args.resume and view:
        resume = f"{path}&since={match_id}:{view['seq']}"
        result["resume"] = await crowd(args, pid, port, resume, args.fans, "subscribed", spy and spy / "resume.txt")
    return result


def server_command(variant: str, port: int, workdir: Path, pin: list[str],
                   redis_url: str = "") -> tuple[list[str], dict[str, str]]:
    if variant == "textbook":
        spec = ServerSpec("baseline", port, workdir, pin)
    elif variant == "floor":
        return [*pin, sys.executable, str(Path(__file__).resolve()), FLOOR_SERVER, str(port)], dict(os.environ)
    else:
        spec = ServerSpec("redis" if redis_url else "scoreboard", port, workdir, pin, redis_url=redis_url,
                          patches="" if variant == "base" else variant)
    return spec.command(), spec.env()


def run_variant(args: argparse.Namespace, variant: str, pin: list[str], spy: Path | None) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        redis = None
        if args.redis and variant not in ("floor", "textbook"):
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="connect-profile-redis-")))
            redis = stack.enter_context(RedisServer(tmp, pin))
        return _run_variant(args, variant, pin, spy, redis.url if redis else "")


def _run_variant(args: argparse.Namespace, variant: str, pin: list[str], spy: Path | None,
                 redis_url: str) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="connect-profile-") as tmp:
        command, env = server_command(variant, port, Path(tmp), pin, redis_url)
        with open(Path(tmp) / "server.log", "wb") as log:
            server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(server, port)
            result, _ = run_on_loop(lambda a: measure(a, server.pid, port, spy), args, args.loop)
            return result
        except BaseException:
            print((Path(tmp) / "server.log").read_text(errors="replace")[-2000:], file=sys.stderr)
            raise
        finally:
            stop(server)


# --------------------------------------------------------------------------- py-spy


def start_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """Sample the server (non-blocking: it is not paused) while the fans connect."""
    binary = Path(sys.executable).with_name("py-spy")
    if not binary.exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    out.parent.mkdir(parents=True, exist_ok=True)  # `out` is DIR/fresh.txt or DIR/resume.txt
    spy = subprocess.Popen([str(binary), "record", "--pid", str(pid), "--rate", "1000", "--format", "raw",
                            "--nonblocking", "--output", str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # py-spy attaches
    return spy


def finish_py_spy(spy: subprocess.Popen[bytes]) -> None:
    spy.send_signal(2)  # SIGINT: write the file and exit
    spy.wait(30)


# --------------------------------------------------------------------------- the floor


def serve_floor(port: int) -> None:
    """aiohttp on uvloop: /ws takes the socket over (handshake.take_over) and writes a snapshot."""
    import uvloop
    from aiohttp import web

    from scoreboard.web.live.handshake import accept_upgrade, take_over
    from scoreboard.web.live.framing import websocket_text_frame

    logs: dict[str, list[dict[str, Any]]] = {}
    snapshots: dict[str, bytes] = {}  # match id -> its snapshot frame, as large as ours would be
    subscribed = websocket_text_frame(b'{"type":"subscribed"}')

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        logs[body["id"]] = []
        return web.json_response({"id": body["id"]}, status=201)

    async def post(request: web.Request) -> web.Response:
        match_id = request.match_info["match_id"]
        log = logs[match_id]
        log.append({"seq": len(log) + 1, **await request.json()})
        text = json.dumps({"type": "snapshot", "match": {"id": match_id, "seq": len(log)}, "events": log[-200:]})
        snapshots[match_id] = websocket_text_frame(text.encode())
        return web.json_response({"events": [log[-1]], "seq": len(log)}, status=201)

    class Quiet(asyncio.Protocol):
        """Ignores what the fan sends but its close frame, which it answers before hanging up."""

        def __init__(self, transport: asyncio.Transport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            if data[:1] == b"\x88":
                self.transport.write(b"\x88\x02\x03\xe9")
                self.transport.close()

    async def ws(request: web.Request) -> web.StreamResponse:
        upgrade = accept_upgrade(request)
        transport = request.transport
        response, _ = take_over(request, upgrade, lambda transport, ws: Quiet(transport))
        assert transport is not None
        transport.write(snapshots.get(request.query.get("matches", ""), b"") + subscribed)
        return response

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/matches", create)
    app.router.add_post("/api/matches/{match_id}/events", post)
    app.router.add_get("/ws", ws)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop())


# --------------------------------------------------------------------------- main


def report(results: dict[str, list[dict[str, Any]]]) -> None:
    base = results.get("base")

    def median(variant: str, kind: str, phase_name: str, key: str = "us") -> float | None:
        values = [r[kind][phase_name][key] for r in results[variant] if kind in r]
        return statistics.median(values) if values else None

    print("\nserver CPU µs per connection, median of runs (user + kernel); Δ: against base")
    print(f"{'variant':24} {'connect':>22} {'Δ':>8} {'close':>8} {'resume':>22} {'Δ':>8} {'connect s':>9} {'loadgen':>7}")
    for variant in results:
        line = f"{variant:24}"
        for kind in ("fresh", "resume"):
            us = median(variant, kind, "connect")
            if us is None:
                line += f" {'–':>22} {'':>8}" if kind == "resume" else f" {'–':>22} {'':>8} {'–':>8}"
                continue
            split = f"{us:7.1f} ({median(variant, kind, 'connect', 'user_us'):5.1f} + {median(variant, kind, 'connect', 'kernel_us'):5.1f})"
            against = median("base", kind, "connect") if base else None
            delta = f"{us - against:+8.1f}" if against is not None and variant != "base" else f"{'':>8}"
            line += f" {split:>22} {delta}"
            if kind == "fresh":
                line += f" {median(variant, kind, 'close'):8.1f}"
        line += f" {median(variant, 'fresh', 'connect', 'wall_s'):9.2f} {median(variant, 'fresh', 'connect', 'loadgen_share'):7.0%}"
        print(line)


def main() -> None:
    if sys.argv[1:2] == [FLOOR_SERVER]:
        serve_floor(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fans", type=int, default=5000)
    parser.add_argument("--events", type=int, default=60, help="events in the match before the fans come")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--variants", default="base,no-access-log,no-live-log,no-metrics-middleware,"
                        "no-error-middleware,no-access-checks,floor,textbook",
                        help=f"base, floor, textbook or a patch: {', '.join(PATCHES)}")
    parser.add_argument("--resume", action="store_true", help="also time a resume with since (our server only)")
    parser.add_argument("--py-spy", type=Path, help="record base's connect phase with py-spy into this directory")
    parser.add_argument("--redis", action="store_true",
                        help="our server on Redis (a redis-server of the bench's own), not SQLite")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    parser.add_argument("--summarize", type=Path, help="only summarize this raw py-spy file (with --us)")
    parser.add_argument("--us", type=float, default=0.0, help="µs per connection the file's samples add up to")
    args = parser.parse_args()
    if args.summarize:
        summarize_py_spy(args.summarize, args.us)
        return
    raise_nofile(args.fans + 1000)
    server_pin, loadgen_pin = pinning()
    if loadgen_pin:
        os.sched_setaffinity(0, {int(loadgen_pin[-1])})
    variants = [v for v in args.variants.split(",") if v]
    for variant in variants:
        if variant not in ("base", "floor", "textbook") and variant not in PATCHES:
            parser.error(f"unknown variant {variant!r}")
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for run_index in range(args.runs):
        for variant in variants:
            spy = args.py_spy if args.py_spy and variant == "base" and run_index == 0 else None
            resume = args.resume and variant not in ("floor", "textbook")
            saved, args.resume = args.resume, resume
            result = run_variant(args, variant, server_pin, spy)
            args.resume = saved
            results[variant].append(result)
            fresh = result["fresh"]["connect"]
            print(f"run {run_index + 1} {variant:24} connect {fresh['us']:7.1f} µs/conn "
                  f"({fresh['user_us']:.1f} + {fresh['kernel_us']:.1f}), {fresh['wall_s']:.2f} s, "
                  f"close {result['fresh']['close']['us']:.1f} µs"
                  + (f", resume {result['resume']['connect']['us']:.1f} µs" if "resume" in result else ""), flush=True)
            if spy is not None:
                for kind in ("fresh", "resume"):
                    if kind in result:
                        print(f"\n--- {kind} connections (py-spy's sampling inflates the CPU a little)")
                        summary = summarize_py_spy(spy / f"{kind}.txt", result[kind]["connect"]["us"])
                        (spy / f"{kind}-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
