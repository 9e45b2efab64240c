"""`make bench`: our server against a textbook baseline, at steady state and in a deploy storm.

Sections, all in one invocation so the ratios hold on a noisy machine even when the absolute
figures drift:
- ingest: events/s acknowledged with 32 concurrent scorekeepers, per server.
- fanout: for every N (and client kind: plain, or offering permessage-deflate like a
  browser), a fresh process of each server (`python -m scoreboard serve` on a temporary SQLite
  file, the same on the benchmark's own redis-server, then `bench/baseline_server.py`) and
  `bench/loadgen.py` connecting N subscribers (connect time and CPU per connection), then
  paced and back-to-back events (latency, fan-out time, deliveries/s, CPU and RSS).
- storm: `bench/storm.py`, the deploy storm, on SQLite (stop, then start) and on Redis
  (overlap).
- push: `bench/pushgen.py`, one goal pushed to 20,000 Web Push subscriptions while fans watch.
- big (opt-in, `--big`): the fan-out row at N=50,000 for our server and the baseline.

Servers are pinned to CPU 0 when `taskset` and a second core exist, the load generator and the
storm to CPU 1.

    python bench/run.py [--subscribers 1000,5000,10000] [--deflate [on|off|both]] [--storm 10000]
                        [--big] [--sections ingest,fanout,storm] [--quick] [--out bench/results]

Writes OUT/latest.json and OUT/latest.md (`--name` for another name). Everything runs on 127.0.0.1.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import CONNECT_CONCURRENCY  # noqa: E402  (bench/ is scripts, not a package)
from procstat import kernel_limits, loadavg, raise_nofile  # noqa: E402
from report import compare, markdown  # noqa: E402
from servers import BENCH, KEY, REPO, RedisServer, Server, pinning  # noqa: E402

LOADGEN_TIMEOUT_S = 900
# Open files a process needs beside its sockets (listening socket, SQLite, logs, pipes, imports).
FD_MARGIN = 1000
SECTIONS = ("ingest", "fanout", "storm", "push", "big")


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import aiohttp

        aiohttp_version = aiohttp.__version__
    except ImportError:
        aiohttp_version = "?"
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "aiohttp": aiohttp_version,
        "limits": kernel_limits(),
    }


def child(cmd: list[str], what: str, server: Server | None = None) -> dict[str, Any]:
    """Run a load-generating child; its last stdout line is its JSON result."""
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=LOADGEN_TIMEOUT_S)
    if done.returncode != 0:
        tail = server.log_tail() if server is not None else ""
        raise RuntimeError(f"{what} failed:\n{done.stderr[-3000:]}\n{tail}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def loadgen(server: Server, pin: list[str], mode: str, options: list[str]) -> dict[str, Any]:
    cmd = pin + [sys.executable, str(BENCH / "loadgen.py"), mode, "--port", str(server.port),
                 "--server-pid", str(server.proc.pid), "--key", KEY, *options]  # fmt: skip
    return child(cmd, f"loadgen {mode} against {server.kind}", server)


def fanout_row(args: argparse.Namespace, workdir: Path, pins: tuple[list[str], list[str]], clients: str,
               n: int, servers: list[str], redis: RedisServer | None, interval: float) -> dict[str, Any]:
    """One N: each server in turn on a fresh process, under the same load."""
    server_pin, loadgen_pin = pins
    burst = args.events or max(20, min(200, 200_000 // n))
    paced = args.latency_events if n == args.latency_at else args.paced_events
    row: dict[str, Any] = {"clients": clients, "subscribers": n}
    for kind in servers:
        if kind == "redis" and (redis is None or clients != "plain"):
            continue  # compression is declined either way: the plain rows say it all
        options = ["--subscribers", str(n), "--paced-events", str(paced), "--burst-events", str(burst),
                   "--interval", str(interval), "--loop", args.loop, "--per-address", str(args.per_address)]  # fmt: skip
        if clients != "plain":
            options.append("--deflate")
        if kind == "redis" and redis is not None:
            options += ["--redis-pid", str(redis.proc.pid)]
        with Server(kind, workdir, server_pin, redis.url if kind == "redis" and redis else "") as server:
            result = loadgen(server, loadgen_pin, "fanout", options)
        args.loadgen_loop = result.pop("loadgen_loop", "?")
        row[kind] = result
        print(
            f"{clients:15} N={n:<6} {kind:10} delivered {result['received_deliveries']:,}/"
            f"{result['expected_deliveries']:,} drops={result['drops']} dup={result['duplicates']} "
            f"ooo={result['out_of_order']} connect {result['connect_s']} s ({result['connect_server_us']} µs/conn, "
            f"loadgen {result['connect_loadgen_cpu_share']:.0%}) p50/p99={result['paced']['latency_p50_ms']}/"
            f"{result['paced']['latency_p99_ms']} ms fan-out {result['paced']['fanout_p50_ms']} ms "
            f"{result['burst']['deliveries_per_s']:,}/s {result['burst']['server_cpu_us_per_delivery']} µs/delivery "
            f"{result['rss_kb_per_subscriber']} KB/sub loadgen {result['burst']['loadgen_cpu_share']:.0%}",
            flush=True,
        )
    if "scoreboard" in row and "baseline" in row:
        row["ratios"] = compare(row["scoreboard"], row["baseline"])
    if "scoreboard" in row and "redis" in row:
        row["redis_ratios"] = compare(row["redis"], row["scoreboard"])
    return row


def push_run(server: Server, pin: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """bench/pushgen.py against a scoreboard server: one goal to --push-subscriptions."""
    cmd = pin + [sys.executable, str(BENCH / "pushgen.py"), "--port", str(server.port),
                 "--server-pid", str(server.proc.pid), "--key", KEY,
                 "--subscriptions", str(args.push_subscriptions), "--fans", str(args.push_fans),
                 "--paced-events", str(args.push_paced_events), "--interval", str(args.interval)]  # fmt: skip
    return child(cmd, "pushgen", server)


def storm(args: argparse.Namespace, store: str, redis: RedisServer | None, pins: tuple[list[str], list[str]]) -> dict[str, Any]:
    server_pin, loadgen_pin = pins
    cmd = loadgen_pin + [sys.executable, str(BENCH / "storm.py"), "--fans", str(args.storm), "--store", store,
                         "--server-pin", " ".join(server_pin), "--loop", args.loop]  # fmt: skip
    if store == "redis" and redis is not None:
        cmd += ["--redis-url", redis.url]
    try:
        result = child(cmd, f"storm on {store}")
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        print(f"storm on {store} failed: {exc}", file=sys.stderr, flush=True)
        return {"fans": args.storm, "error": str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)}
    print(f"storm {store:6} fans={result['fans']:,} outage {result['outage_s']} s, all resumed "
          f"{result['all_resumed_s']} s, all caught up {result['all_caught_up_s']} s after listening; latency "
          f"p50/p99/max {result['latency_p50_ms']}/{result['latency_p99_ms']}/{result['latency_max_ms']} ms; "
          f"drops={result['drops']} dup={result['duplicates']} ooo={result['out_of_order']} "
          f"reconnects {result['reconnects']} ({result['refused']} refused) loadgen {result['loadgen_cpu_share']:.0%}",
          flush=True)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Scoreboard benchmark (127.0.0.1 only)")
    parser.add_argument("--subscribers", default="1000,5000,10000", help="comma-separated N (default: %(default)s)")
    parser.add_argument("--events", type=int, default=None,
                        help="events posted back to back per N (default: enough for ~200,000 deliveries, 20..200)")
    parser.add_argument("--paced-events", type=int, default=10, help="events posted every --interval at each N")
    parser.add_argument("--latency-at", type=int, default=5000, help="N that gets --latency-events paced events")
    parser.add_argument("--latency-events", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.3, help="seconds between paced events")
    parser.add_argument("--deflate", nargs="?", const="on", default="off", choices=("off", "on", "both"),
                        help="clients offer permessage-deflate like a browser (bare flag: on)")
    parser.add_argument("--servers", default="scoreboard,redis,baseline", help="which servers to measure")
    parser.add_argument("--sections", default="ingest,fanout,storm,push", help=f"which of {', '.join(SECTIONS)} to run")
    parser.add_argument("--storm", type=int, default=10000, help="fans in the deploy storm")
    parser.add_argument("--storm-stores", default="sqlite,redis")
    parser.add_argument("--big", action="store_true", help="also the opt-in N=50,000 row (adds ~3 minutes)")
    parser.add_argument("--big-fans", type=int, default=50000)
    parser.add_argument("--big-interval", type=float, default=1.0,
                        help="seconds between the big row's paced events (one fan-out of 50,000 takes ~0.5 s)")
    parser.add_argument("--per-address", type=int, default=20000,
                        help="subscribers per loopback source address (ephemeral ports: ~28,000 per address)")
    parser.add_argument("--ingest-duration", type=float, default=5.0)
    parser.add_argument("--scorekeepers", type=int, default=32)
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto",
                        help="load generator's event loop (auto: uvloop when installed)")
    parser.add_argument("--push-subscriptions", type=int, default=20000,
                        help="push run: subscriptions one goal is pushed to (0: no push run)")
    parser.add_argument("--push-fans", type=int, default=5000, help="push run: WebSocket fans watching meanwhile")
    parser.add_argument("--push-paced-events", type=int, default=30, help="push run: paced events per phase")
    parser.add_argument("--push-only", action="store_true", help="only the push run (--sections push)")
    parser.add_argument("--quick", action="store_true", help="N=200, storm of 200, few events: a smoke run")
    parser.add_argument("--out", default=str(BENCH / "results"))
    parser.add_argument("--name", default="latest", help="OUT/NAME.json and OUT/NAME.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.subscribers = "200"
        args.events = args.events or 10
        args.paced_events = 5
        args.latency_at = 200
        args.latency_events = 5
        args.ingest_duration = 2.0
        args.storm = min(args.storm, 200)
        args.push_subscriptions = min(args.push_subscriptions, 300)
        args.push_fans = min(args.push_fans, 200)
        args.push_paced_events = min(args.push_paced_events, 5)
    sections = ["push"] if args.push_only else [s for s in args.sections.split(",") if s]
    if not args.push_subscriptions and "push" in sections:
        sections.remove("push")
    if args.big and "big" not in sections:
        sections.append("big")
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    args.sections = sections
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = [int(n) for n in args.subscribers.split(",") if n]
    servers = [s for s in args.servers.split(",") if s]
    modes = {"off": ["plain"], "on": ["deflate offered"], "both": ["plain", "deflate offered"]}[args.deflate]
    biggest = max(counts + [args.storm] + ([args.big_fans] if "big" in args.sections else []))
    nofile = raise_nofile(biggest + FD_MARGIN)  # inherited by the servers and load generators
    if nofile < biggest + FD_MARGIN:
        print(f"warning: open-file limit {kernel_limits()['nofile']} is low for {biggest:,} connections; "
              "raise `ulimit -Hn` (root with CAP_SYS_RESOURCE may)", file=sys.stderr)
    big_fans = args.big_fans
    if "big" in args.sections and nofile < big_fans + FD_MARGIN:
        # One process cannot hold more sockets than its limit: run the largest N it allows and say so.
        big_fans = (nofile - FD_MARGIN) // 1000 * 1000
        print(f"big row: N={args.big_fans:,} needs an open-file limit of {args.big_fans + FD_MARGIN:,}, this machine "
              f"allows {nofile:,}: running N={big_fans:,}", file=sys.stderr)
    pins = pinning()
    report: dict[str, Any] = {
        "meta": {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            "server_pin": " ".join(pins[0]),
            "loadgen_pin": " ".join(pins[1]),
            "paced_interval_s": args.interval,
            "connect_concurrency": CONNECT_CONCURRENCY,
            "loadavg_start": loadavg(),
            "nofile": nofile,
            "args": vars(args),
        },
        "ingest": {},
        "fanout": [],
        "storm": {},
        "big": [],
    }
    started = time.monotonic()
    stores = [s for s in args.storm_stores.split(",") if s]
    if not (shutil.which("redis-server") or Path("/usr/bin/redis-server").exists()):
        print("redis-server is not installed: no Redis rows or storm (apt-get install redis-server)", file=sys.stderr)
        servers = [s for s in servers if s != "redis"]
        stores = [s for s in stores if s != "redis"]
    needs_redis = ("redis" in servers and "fanout" in args.sections) or ("storm" in args.sections and "redis" in stores)
    with tempfile.TemporaryDirectory(prefix="scoreboard-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        redis = stack.enter_context(RedisServer(workdir, pins[0])) if needs_redis else None
        if "ingest" in args.sections:
            for kind in ("scoreboard", "baseline"):
                if kind not in servers:
                    continue
                with Server(kind, workdir, pins[0]) as server:
                    result = loadgen(server, pins[1], "ingest", ["--duration", str(args.ingest_duration),
                                                                 "--scorekeepers", str(args.scorekeepers),
                                                                 "--loop", args.loop])  # fmt: skip
                args.loadgen_loop = result.pop("loadgen_loop", "?")
                report["ingest"][kind] = result
                print(f"ingest   {kind:10} {result['events_per_s']:>8,} events/s acknowledged ({result['failed']} failed)", flush=True)
        if "fanout" in args.sections:
            for clients in modes:
                for n in counts:
                    report["fanout"].append(fanout_row(args, workdir, pins, clients, n, servers, redis, args.interval))
        if "big" in args.sections:
            big_servers = [s for s in servers if s != "redis"]
            report["big"].append(fanout_row(args, workdir, pins, "plain", big_fans, big_servers, None, args.big_interval))
        if "storm" in args.sections:
            for store in stores:
                report["storm"][store] = storm(args, store, redis, pins)
        if "push" in args.sections and "scoreboard" in servers:
            with Server("scoreboard", workdir, pins[0]) as server:
                push = push_run(server, pins[1], args)
            report["push"] = push
            print(f"push     {push['pushes_received']:,}/{push['subscriptions']:,} pushes, {push['pushes_per_s']:,}/s, "
                  f"sender {push['sender_cpu_us_per_push']} µs/push, fan-out p99 {push['quiet_p99_ms']} -> "
                  f"{push['burst_p99_ms']} ms ({push['p99_ratio']}x)", flush=True)
    report["meta"]["loadgen_loop"] = getattr(args, "loadgen_loop", "?")
    report["meta"]["loadavg_end"] = loadavg()
    report["meta"]["elapsed_s"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (out / f"{args.name}.md").write_text(table)
    print()
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
