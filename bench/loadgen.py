"""Load generator for `bench/run.py`: N WebSocket subscribers to one match, plus scorekeepers.

Runs in its own process (pinned to its own core by run.py) and prints one JSON object.
Subscribers are `wsclient.WsClient`s (bare asyncio protocols), scorekeepers `httpclient.Http`
connections: both are minimal so that on one core the load generator keeps up with a server
near the one-send-per-delivery floor. The run reports its own CPU use so a saturated load
generator is visible in the results.

Scenarios: `fanout` (connect N, then paced and back-to-back events: latency, fan-out time,
deliveries/s, CPU and RSS per subscriber, connect time and CPU per connection) and `ingest`
(concurrent scorekeepers, events/s acknowledged).
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import statistics
import sys
from array import array
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpclient import Http, expect_2xx, goal  # noqa: E402  (bench/ is scripts, not a package)
from procstat import (  # noqa: E402
    cpu_s, cpu_times, kernel_limits, ms, own_cpu_s, percentile, raise_nofile, rss_kb,
)
from wsclient import WsClient, event_seq, message_type, open_connection, perf, source_addresses, ws_request  # noqa: E402

uvloop: ModuleType | None
try:
    uvloop = importlib.import_module("uvloop")
except ImportError:  # the load generator then runs on asyncio's own loop, and says so
    uvloop = None

# In-flight handshakes: a browser crowd arrives unsynchronised; this keeps the connect phase
# under a default listen backlog of 128 so it measures the server, not SYN retries.
CONNECT_CONCURRENCY = 100


class Run:
    """What all subscribers of one run share: the posted events and the counters."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity  # events that may be posted after the subscribers connect
        self.first_seq = 0  # seq of the first measured event
        self.post_times = [0.0] * capacity  # event index -> perf() just before its POST
        self.last_receipt = [0.0] * capacity  # event index -> latest receipt over subscribers
        self.latencies = array("d")
        self.delivered = 0
        self.target = 0
        self.done = asyncio.Event()
        self.unexpected = 0
        self.errors: list[str] = []


class Subscriber(WsClient):
    """A WebSocket client reduced to what the benchmark needs to count and time deliveries."""

    def __init__(self, run: Run, request: bytes, ready_on: str = "snapshot") -> None:
        super().__init__(request)
        self.run = run
        # The message that ends the connect phase: the snapshot, or for a fan resuming with
        # `since` (no snapshot then) the `subscribed` that follows its catch-up.
        self.ready_on = ready_on
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.seen = bytearray(run.capacity)
        self.count = 0
        self.duplicates = 0
        self.out_of_order = 0
        self.last_seq = 0

    def on_refused(self, status_line: str) -> None:
        self.run.errors.append(f"handshake: {status_line}")

    def on_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.run.errors.append(f"lost before snapshot: {exc!r}")
            self.ready.set_result(None)

    def on_message(self, payload: bytes, now: float) -> None:
        seq = event_seq(payload)
        if seq is not None:
            self._event(seq, now)
            return
        kind = message_type(payload)
        message = json.loads(payload) if kind is None or kind == "error" else None
        if message is not None:
            kind = message.get("type")
        if kind == self.ready_on:
            if not self.ready.done():
                self.ready.set_result(None)
        elif kind == "error":
            self.run.errors.append(f"server error message: {message}")

    def _event(self, seq: int, now: float) -> None:
        run = self.run
        index = seq - run.first_seq
        if index < 0 or index >= run.capacity:
            run.unexpected += 1
            return
        if self.seen[index]:
            self.duplicates += 1
            return
        self.seen[index] = 1
        if seq < self.last_seq:
            self.out_of_order += 1
        else:
            self.last_seq = seq
        self.count += 1
        posted = run.post_times[index]
        if posted:
            run.latencies.append(now - posted)
        if now > run.last_receipt[index]:
            run.last_receipt[index] = now
        run.delivered += 1
        if run.delivered == run.target:
            run.done.set()

    @property
    def alive(self) -> bool:
        return self.ready.done() and not self.lost and self.close_code is None


async def connect_all(
    run: Run, host: str, port: int, path: str, n: int, offer_deflate: bool, per_address: int = 20000,
    make: type[Subscriber] | None = None, ready_on: str = "snapshot",
) -> list[Subscriber]:
    """Open `n` subscribers (of class `make`), CONNECT_CONCURRENCY at a time, each until its
    `ready_on` message arrives."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    sources = source_addresses(n, per_address)
    subscribers: list[Subscriber] = []
    make = make or Subscriber

    async def one(index: int) -> None:
        async with gate:
            sub = make(run, ws_request(host, port, path, offer_deflate), ready_on)
            subscribers.append(sub)
            try:
                await open_connection(sub, host, port, sources[index % len(sources)])
            except OSError as exc:
                run.errors.append(f"connect: {exc!r}")
                sub.ready.set_result(None)
                return
            # Hold the slot until the server has subscribed us (snapshot): the backlog stays short.
            await sub.ready

    await asyncio.gather(*(one(i) for i in range(n)))
    return subscribers


# --------------------------------------------------------------------------- scenarios


async def post_phase(
    run: Run,
    http: Http,
    pid: int,
    match_path: str,
    start: int,
    count: int,
    interval: float,
    alive: int,
    tag: str,
    redis_pid: int = 0,
) -> dict[str, Any]:
    """Post `count` events (paced every `interval` s, or back-to-back when 0) and wait for them.

    `redis_pid`: also report that redis-server's CPU per delivery (Redis mode).
    """
    run.latencies = array("d")
    run.target = run.delivered + alive * count
    run.done.clear()
    round_trips = array("d")
    (user0, sys0), own0, t0 = cpu_times(pid), own_cpu_s(), perf()
    cpu0 = user0 + sys0
    redis0 = cpu_s(redis_pid) if redis_pid else 0.0
    for i in range(count):
        index = start + i
        if interval:
            await asyncio.sleep(max(0.0, t0 + i * interval - perf()))
        run.post_times[index] = sent = perf()
        payload = await expect_2xx(http, "POST", match_path, goal(index, tag))
        round_trips.append(perf() - sent)
        if payload["seq"] != run.first_seq + index:
            run.errors.append(f"seq {payload['seq']} for event {index}: another writer?")
    timeout = 30.0 + alive * count * 50e-6
    try:
        await asyncio.wait_for(run.done.wait(), timeout)
    except asyncio.TimeoutError:
        run.errors.append(f"{tag}: timed out after {timeout:.0f} s waiting for deliveries")
    t_end = max(run.last_receipt[start : start + count] or [perf()])
    (user1, sys1), own1, t1 = cpu_times(pid), own_cpu_s(), perf()
    cpu1 = user1 + sys1
    redis1 = cpu_s(redis_pid) if redis_pid else 0.0
    deliveries = len(run.latencies)
    window = max(t_end - t0, 1e-9)
    fanouts = [run.last_receipt[start + i] - run.post_times[start + i] for i in range(count) if run.last_receipt[start + i]]
    return {
        "events": count,
        "interval_s": interval,
        "deliveries": deliveries,
        "window_s": round(window, 4),
        "deliveries_per_s": round(deliveries / window),
        "server_cpu_s": round(cpu1 - cpu0, 3),
        "server_cpu_us_per_delivery": round((cpu1 - cpu0) * 1e6 / deliveries, 2) if deliveries else None,
        "server_user_us_per_delivery": round((user1 - user0) * 1e6 / deliveries, 2) if deliveries else None,
        "server_kernel_us_per_delivery": round((sys1 - sys0) * 1e6 / deliveries, 2) if deliveries else None,
        # Below 1 while deliveries were pending: the server was idle or starved of its core.
        "server_cpu_share": round((cpu1 - cpu0) / window, 3),
        "post_p50_ms": ms(percentile(round_trips, 0.5)),
        "latency_p50_ms": ms(percentile(run.latencies, 0.50)),
        "latency_p99_ms": ms(percentile(run.latencies, 0.99)),
        # Fan-out time: from just before an event's POST until its last subscriber has it.
        "fanout_p50_ms": ms(statistics.median(fanouts) if fanouts else None),
        "fanout_max_ms": ms(max(fanouts) if fanouts else None),
        "loadgen_cpu_share": round((own1 - own0) / max(t1 - t0, 1e-9), 3),
        "loadgen_cpu_us_per_delivery": round((own1 - own0) * 1e6 / deliveries, 2) if deliveries else None,
        "redis_cpu_us_per_delivery": round((redis1 - redis0) * 1e6 / deliveries, 3) if redis_pid and deliveries else None,
    }


async def connect_phase(run: Run, args: argparse.Namespace, path: str) -> tuple[list[Subscriber], dict[str, Any]]:
    """Connect every subscriber, timing it and reading both sides' CPU meanwhile."""
    pid = args.server_pid
    (user0, sys0), own0, t0 = cpu_times(pid), own_cpu_s(), perf()
    subscribers = await connect_all(run, args.host, args.port, path, args.subscribers, args.deflate, args.per_address)
    elapsed = perf() - t0
    (user1, sys1), own1 = cpu_times(pid), own_cpu_s()
    n = max(len(subscribers), 1)
    return subscribers, {
        # Handshake + subscribe + first snapshot received, for all N, CONNECT_CONCURRENCY at a time.
        "connect_s": round(elapsed, 3),
        "connects_per_s": round(len(subscribers) / max(elapsed, 1e-9)),
        "connect_server_us": round((user1 + sys1 - user0 - sys0) * 1e6 / n, 1),
        "connect_server_user_us": round((user1 - user0) * 1e6 / n, 1),
        "connect_server_kernel_us": round((sys1 - sys0) * 1e6 / n, 1),
        "connect_server_cpu_share": round((user1 + sys1 - user0 - sys0) / max(elapsed, 1e-9), 3),
        # Near 1: the load generator, not the server, set the connect time.
        "connect_loadgen_cpu_share": round((own1 - own0) / max(elapsed, 1e-9), 3),
        "connect_loadgen_us": round((own1 - own0) * 1e6 / n, 1),
    }


async def fanout(args: argparse.Namespace) -> dict[str, Any]:
    host, port = args.host, args.port
    http = Http(host, port, args.key)
    match_id = f"bench-{os.getpid()}"
    await expect_2xx(http, "POST", "/api/matches", {"id": match_id, "home": "Argentina", "away": "France"})
    events_path = f"/api/matches/{match_id}/events"
    # Warm the server's code paths before the RSS reading.
    view = None
    for i in range(3):
        view = await expect_2xx(http, "POST", events_path, goal(i, "warm") if i else {"id": "warm-0", "type": "period_start", "period": 1})
    assert view is not None
    capacity = args.paced_events + args.burst_events
    run = Run(capacity)
    run.first_seq = view["seq"] + 1
    await asyncio.sleep(0.3)
    rss_before = rss_kb(args.server_pid)
    subscribers, connecting = await connect_phase(run, args, f"/ws?matches={match_id}")
    await asyncio.sleep(1.0)
    rss_after = rss_kb(args.server_pid)
    alive = sum(1 for s in subscribers if s.alive)
    result: dict[str, Any] = {
        "subscribers": args.subscribers,
        "connected": alive,
        "deflate_offered": args.deflate,
        "deflate_agreed": sum(1 for s in subscribers if s.deflate),
        **connecting,
        "source_addresses": len(source_addresses(args.subscribers, args.per_address)),
        "rss_before_kb": rss_before,
        "rss_idle_kb": rss_after,
        "rss_kb_per_subscriber": round((rss_after - rss_before) / max(alive, 1), 2),
    }
    result["paced"] = await post_phase(run, http, args.server_pid, events_path, 0, args.paced_events, args.interval, alive, "paced")
    result["burst"] = await post_phase(run, http, args.server_pid, events_path, args.paced_events, args.burst_events,
                                       0.0, alive, "burst", args.redis_pid)
    await asyncio.sleep(0.2)  # let any late duplicate arrive before counting
    expected = alive * capacity
    received = sum(s.count for s in subscribers)
    result.update(
        expected_deliveries=expected,
        received_deliveries=received,
        drops=expected - received,
        duplicates=sum(s.duplicates for s in subscribers),
        out_of_order=sum(s.out_of_order for s in subscribers),
        unexpected=run.unexpected,
        closed_by_server=sum(1 for s in subscribers if s.close_code is not None),
        close_codes=sorted({s.close_code for s in subscribers if s.close_code is not None}),
        errors=run.errors[:20],
    )
    http.close()
    for sub in subscribers:
        if sub.transport is not None:
            sub.transport.close()
    return result


async def ingest(args: argparse.Namespace) -> dict[str, Any]:
    """`args.scorekeepers` concurrent scorekeepers, each on its own match, for `args.duration` s."""
    keepers = [Http(args.host, args.port, args.key) for _ in range(args.scorekeepers)]
    tag = f"ingest-{os.getpid()}"
    for n, http in enumerate(keepers):
        await expect_2xx(http, "POST", "/api/matches", {"id": f"{tag}-{n}", "home": "Home", "away": "Away"})
        await expect_2xx(http, "POST", f"/api/matches/{tag}-{n}/events", {"id": "kick", "type": "period_start", "period": 1})
    ok = failed = 0
    times = array("d")
    statuses: dict[int, int] = {}
    # The first seconds after start are not the steady state (the SQLite WAL file still grows,
    # caches are cold): the same load runs for `warmup` seconds before anything is counted.
    measuring = False
    deadline = perf() + args.warmup + args.duration

    async def keeper(n: int, http: Http) -> None:
        nonlocal ok, failed
        i = 0
        path = f"/api/matches/{tag}-{n}/events"
        while perf() < deadline:
            t = perf()
            status, _ = await http.request("POST", path, goal(i, f"k{n}"))
            i += 1
            if not measuring:
                continue
            times.append(perf() - t)
            if 200 <= status < 300:
                ok += 1
            else:
                failed += 1
                statuses[status] = statuses.get(status, 0) + 1

    async def clock() -> tuple[float, float, float, float, float]:
        nonlocal measuring
        await asyncio.sleep(args.warmup)
        measuring = True
        cpu0, own0, t0 = cpu_s(args.server_pid), own_cpu_s(), perf()
        await asyncio.sleep(max(0.0, deadline - perf()))
        return cpu0, own0, t0, cpu_s(args.server_pid), own_cpu_s()

    window = asyncio.ensure_future(clock())
    await asyncio.gather(window, *(keeper(n, http) for n, http in enumerate(keepers)))
    cpu0, own0, t0, cpu1, own1 = window.result()
    elapsed = perf() - t0
    for http in keepers:
        http.close()
    return {
        "scorekeepers": args.scorekeepers,
        "duration_s": round(elapsed, 2),
        "acknowledged": ok,
        "failed": failed,
        "failed_statuses": statuses,
        "events_per_s": round(ok / elapsed),
        "request_p50_ms": ms(percentile(times, 0.5)),
        "request_p99_ms": ms(percentile(times, 0.99)),
        "server_cpu_share": round((cpu1 - cpu0) / elapsed, 3),
        "loadgen_cpu_share": round((own1 - own0) / elapsed, 3),
    }


def run_on_loop(scenario: Any, args: argparse.Namespace, choice: str) -> tuple[dict[str, Any], str]:
    """Run `scenario(args)` on uvloop (auto: when installed) or asyncio's loop; returns (result, loop name)."""
    if choice == "uvloop" or (choice == "auto" and uvloop is not None):
        if uvloop is None:
            raise SystemExit("uvloop is not installed (pip install -r bench/requirements.txt)")
        return uvloop.run(scenario(args)), "uvloop"
    return asyncio.run(scenario(args)), "asyncio"


def main() -> None:
    parser = argparse.ArgumentParser(description="Scoreboard benchmark load generator (see bench/run.py)")
    parser.add_argument("mode", choices=("fanout", "ingest"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", default="bench")
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--redis-pid", type=int, default=0, help="Redis mode: the redis-server whose CPU to report too")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--per-address", type=int, default=20000,
                        help="connections per loopback source address (127.0.0.1, .2, ...) before the next")
    parser.add_argument("--paced-events", type=int, default=10)
    parser.add_argument("--burst-events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.3)
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate like a browser")
    parser.add_argument("--scorekeepers", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0, help="ingest: seconds of load before counting")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto", help="auto: uvloop when installed")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the benchmark only loads 127.0.0.1")
    if raise_nofile(args.subscribers + 1000) < args.subscribers + 100:
        parser.error(f"open-file limit {kernel_limits()['nofile']} is too low for {args.subscribers} subscribers "
                     "(raise `ulimit -Hn`, or run as root)")
    scenario = fanout if args.mode == "fanout" else ingest
    result, loop_name = run_on_loop(scenario, args, args.loop)
    result["loadgen_loop"] = loop_name
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
