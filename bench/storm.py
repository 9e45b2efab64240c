"""Deploy storm: N fans on one live match while the server is replaced, as a platform deploys.

One process (pinned to the load generator's core) plays the platform, the fans and the
scorekeeper, and prints one JSON object:

1. Start a server, create a match, connect N fans (`/ws?matches=m`) and post one event every
   300 ms; after a few seconds of that, send the server SIGTERM.
2. The old process stops listening at once, tells every fan 1012 and drains. The new one is
   started on the same port as soon as it may be:
   - `sqlite` (stop, then start): once the old process has exited. Two processes must never
     share the SQLite file (it is locked), and a platform with a persistent disk (Render, a
     Fly volume) stops the old instance before it starts the new one.
   - `redis` (overlap): once the old listener is closed, while the old process still drains,
     as a Heroku-like router sends new connections to whichever dyno listens. (A listener
     shared with SO_REUSEPORT would need the old process to have set it too; ours sets it
     only for WEB_CONCURRENCY workers.)
3. The fans behave as `static/live.js`: on 1012, 1001 or 1013 wait 0.25 s + [0, 3) s, then
   reconnect with `since=<match>:<last seq>`; a connection that fails or never opens (nothing
   listens yet, or a 503 from the handshake cap) within 30 s of that close waits 0.25 s +
   [0, 1) s, else [0, min(10, 0.5 * 2^attempt)) s, attempt counting failures since the last
   message.
4. The scorekeeper keeps creating one event every 300 ms throughout and posts them in order,
   each retried as `static/console-api.js` retries (300 ms + jittered backoff) with the same
   idempotency id (`id`) until a process acknowledges it.

Measured: the outage (SIGTERM until the new process listens); from the new process listening
until every fan has resumed, and until every fan holds every event created before it resumed
("caught up"); each delivery's latency from the event's creation (its first POST attempt);
drops, duplicates, out-of-order and gaps per fan across its connections; reconnects, refused
attempts, snapshots instead of a replay; the new server's CPU per resume; our own CPU.

    .venv/bin/python bench/storm.py --fans 2000 --store sqlite
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpclient import Http, expect_2xx, goal  # noqa: E402  (bench/ is scripts, not a package)
from procstat import (  # noqa: E402
    cpu_s, free_port, kernel_limits, listen_drops, ms, own_cpu_s, percentile, raise_nofile,
)
from servers import RedisServer, ServerSpec, stop, wait_healthy  # noqa: E402
from storm_fans import Fan, Storm  # noqa: E402
from wsclient import perf, source_addresses  # noqa: E402

# The scorekeeper retries as static/console-api.js does: 300 ms + [0, min(4, 0.5 * 2^attempt)) s,
# the same body (so the same event id) every time; presses go out one after another. Past
# the console's fourth attempt its user presses "Send it again": here it simply goes on.
POST_RETRY_PAUSE_S = 0.3
POST_RETRY_BASE_S = 0.5
POST_RETRY_CAP_S = 4.0
POST_TIMEOUT_S = 5.0
# A platform's grace between SIGTERM and SIGKILL (Heroku: 30 s).
KILL_AFTER_S = 30.0
INITIAL_CONCURRENCY = 100  # handshakes in flight while the crowd first gathers


async def scorekeeper(storm: Storm, http: Http, path: str, stop_creating: asyncio.Event) -> None:
    """Create one event every interval; post them in order, retrying each until acknowledged."""
    interval = storm.args.interval
    queue: asyncio.Queue[int] = asyncio.Queue()

    async def create() -> None:
        start = perf()
        while not stop_creating.is_set() and storm.count < storm.capacity:
            index = storm.count
            storm.created[index] = perf()
            storm.count += 1
            queue.put_nowait(index)
            await asyncio.sleep(max(0.0, start + storm.count * interval - perf()))
        queue.put_nowait(-1)

    creator = asyncio.ensure_future(create())
    while (index := await queue.get()) >= 0:
        body = goal(index, "storm")
        attempt = 1
        while True:
            storm.post_attempts += 1
            try:
                status, payload = await asyncio.wait_for(http.request("POST", path, body), POST_TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
                status, payload = 0, type(exc).__name__
                http.close()
            if 200 <= status < 300:
                break
            storm.post_failures[str(status or payload)] += 1
            if 400 <= status < 500 and status != 429:
                storm.errors.append(f"POST event {index}: {status} {payload}")
                break
            await asyncio.sleep(POST_RETRY_PAUSE_S + random.random() * min(POST_RETRY_CAP_S, POST_RETRY_BASE_S * 2**attempt))
            attempt += 1
        storm.acked[index] = perf()
        storm.acked_count = index + 1
        if isinstance(payload, dict) and payload.get("seq") != storm.first_seq + index:
            storm.errors.append(f"event {index} got seq {payload.get('seq')}, expected {storm.first_seq + index}")
    await creator


async def until(check: Any, timeout: float, step: float = 0.05) -> bool:
    deadline = perf() + timeout
    while not check():
        if perf() > deadline:
            return False
        await asyncio.sleep(step)
    return True


async def accepting(port: int) -> bool:
    """Whether something accepts on the port now (a probe connection, closed at once)."""
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def reap(storm: Storm, old: subprocess.Popen[bytes], times: dict[str, float]) -> None:
    """Wait for the old process to exit; SIGKILL it KILL_AFTER_S after its SIGTERM, as a platform does."""
    if not await until(lambda: old.poll() is not None, KILL_AFTER_S, step=0.005):
        storm.errors.append(f"the old process was still running {KILL_AFTER_S:.0f} s after SIGTERM: SIGKILLed")
        old.kill()
        await until(lambda: old.poll() is not None, 10)
    times["old_exited"] = perf()


async def hand_over(
    storm: Storm, spec: ServerSpec, old: subprocess.Popen[bytes], log: Path,
) -> tuple[subprocess.Popen[bytes], dict[str, float], asyncio.Future[None]]:
    """SIGTERM the old process and start the new one as the store allows (module docstring).

    Returns the new process, the hand-over's times and the old process's reaper.
    """
    times: dict[str, float] = {"sigterm": perf()}
    storm.storming = True
    old.terminate()
    reaper = asyncio.ensure_future(reap(storm, old, times))
    if spec.kind == "redis":
        while await accepting(spec.port):
            await asyncio.sleep(0.002)
        times["old_closed"] = perf()
    else:
        await reaper
    new = spec.start(log)
    times["spawned"] = perf()
    while not await accepting(spec.port):
        if new.poll() is not None:
            raise RuntimeError(f"the new server exited {new.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        await asyncio.sleep(0.002)
    times["listening"] = perf()
    return new, times, reaper


def summarize(storm: Storm, fans: list[Fan], times: dict[str, float], done_at: float) -> dict[str, Any]:
    listening = times["listening"]
    caught = [fan.caught_up_at() for fan in fans]
    resumed = [fan.resumed_at for fan in fans if fan.resumed_at]
    storm_from = times["sigterm"]
    # Each delivery's latency from its event's creation, for the events created during the storm
    # (SIGTERM until every fan had caught up) and, for comparison, before it.
    latencies, before = array("d"), array("d")
    for index in range(storm.count):
        created = storm.created[index]
        into = latencies if storm_from <= created <= done_at else before if created < storm_from else None
        if into is None:
            continue
        offset = storm.t0 - created
        into.extend(offset + fan.receipts[index] for fan in fans if fan.receipts[index])
    waits = [storm.acked[i] - storm.created[i] for i in range(storm.acked_count) if storm_from <= storm.created[i] <= done_at]
    expected = len(fans) * storm.acked_count
    received = sum(min(fan.received, storm.acked_count) for fan in fans)
    closes: Counter[int] = Counter()
    for fan in fans:
        closes.update(fan.closes)
    done = [c for c in caught if c is not None]
    return {
        "fans": len(fans),
        "outage_s": round(listening - storm_from, 3),
        "old_exit_s": round(times["old_exited"] - storm_from, 3) if "old_exited" in times else None,
        "old_listener_closed_s": round(times["old_closed"] - storm_from, 3) if "old_closed" in times else None,
        "spawn_to_listen_s": round(listening - times["spawned"], 3),
        "resumed": len(resumed),
        "all_resumed_s": round(max(resumed) - listening, 3) if len(resumed) == len(fans) else None,
        "resumed_p50_s": round((percentile([r - listening for r in resumed], 0.5) or 0), 3),
        "caught_up": len(done),
        "all_caught_up_s": round(max(done) - listening, 3) if len(done) == len(fans) else None,
        "caught_up_p50_s": round(percentile([c - listening for c in done], 0.5) or 0, 3),
        "caught_up_p99_s": round(percentile([c - listening for c in done], 0.99) or 0, 3),
        "events": storm.acked_count,
        "events_in_storm": sum(1 for i in range(storm.count) if storm_from <= storm.created[i] <= done_at),
        "latency_p50_ms": ms(percentile(latencies, 0.5)),
        "latency_p99_ms": ms(percentile(latencies, 0.99)),
        "latency_max_ms": ms(max(latencies) if latencies else None),
        "latency_before_p50_ms": ms(percentile(before, 0.5)),
        "latency_before_p99_ms": ms(percentile(before, 0.99)),
        # How long the scorekeeper's events of the storm waited for a process to acknowledge them.
        "ack_wait_p50_s": round(percentile(waits, 0.5) or 0, 3),
        "ack_wait_max_s": round(max(waits, default=0), 3),
        "post_attempts": storm.post_attempts,
        "post_failures": dict(storm.post_failures),
        "expected_deliveries": expected,
        "received_deliveries": received,
        "drops": expected - received,
        "duplicates": sum(fan.duplicates for fan in fans),
        "out_of_order": sum(fan.out_of_order for fan in fans),
        "gaps": sum(fan.gaps for fan in fans),
        "unexpected": storm.unexpected,
        "reconnects": sum(fan.connections for fan in fans) - len(fans),
        "refused": sum(fan.refused for fan in fans),
        "busy_503": storm.busy,
        "close_codes": {str(code): count for code, count in sorted(closes.items())},
        "resume_snapshots": sum(fan.resume_snapshots for fan in fans),
        "errors": storm.errors[:20],
    }


async def run_storm(args: argparse.Namespace, spec: ServerSpec, workdir: Path) -> dict[str, Any]:
    storm = Storm(args, capacity=int(args.max_seconds / args.interval) + 64)
    log = Path(args.log_dir or workdir) / f"storm-{spec.kind}-{spec.port}.log"
    old = spec.start(log)
    new: subprocess.Popen[bytes] | None = None
    fans: list[Fan] = []
    try:
        await asyncio.get_running_loop().run_in_executor(None, wait_healthy, old, spec.port)
        http = Http("127.0.0.1", spec.port, args.key)
        await expect_2xx(http, "POST", "/api/matches", {"id": args.match_id, "home": "Argentina", "away": "France"})
        path = f"/api/matches/{args.match_id}/events"
        kickoff = await expect_2xx(http, "POST", path, {"id": "kickoff", "type": "period_start", "period": 1})
        storm.first_seq = kickoff["seq"] + 1
        sources = source_addresses(args.fans)
        fans = [Fan(storm, sources[i % len(sources)]) for i in range(args.fans)]
        gate = asyncio.Semaphore(INITIAL_CONCURRENCY)

        async def gather(fan: Fan) -> None:
            async with gate:
                fan.subscribed = asyncio.get_running_loop().create_future()
                await fan.connect()
                await fan.subscribed

        await asyncio.gather(*(gather(fan) for fan in fans))
        if any(not fan.connection or fan.connection.ended for fan in fans):
            raise RuntimeError(f"{sum(1 for f in fans if not f.connection or f.connection.ended)} fans did not connect")
        stop_creating = asyncio.Event()
        keeper = asyncio.ensure_future(scorekeeper(storm, http, path, stop_creating))
        await asyncio.sleep(args.before)
        drops0 = listen_drops()
        new, times, reaper = await hand_over(storm, spec, old, log)
        cpu0, own0 = cpu_s(new.pid), own_cpu_s()

        def all_caught_up() -> bool:
            return storm.resumed == len(fans) and all(fan.caught_up() for fan in fans)

        finished = await until(all_caught_up, args.max_seconds * 0.6, step=0.1)
        done_at = perf()
        cpu1, own1 = cpu_s(new.pid), own_cpu_s()
        drops1 = listen_drops()
        if not finished:
            storm.errors.append("timed out waiting for every fan to resume and catch up")
        await asyncio.sleep(args.after)  # live again: a few events as in steady state
        stop_creating.set()
        await asyncio.wait_for(keeper, 60)
        await until(lambda: all(fan.received >= storm.acked_count for fan in fans), 15)
        await asyncio.sleep(0.3)  # a late duplicate would arrive now
        await reaper
        result = summarize(storm, fans, times, done_at)
        window = max(done_at - times["listening"], 1e-9)
        result.update(
            store=spec.kind if spec.kind == "redis" else "sqlite",
            handover="overlap" if spec.kind == "redis" else "stop, then start",
            server_cpu_us_per_resume=round((cpu1 - cpu0) * 1e6 / max(result["resumed"], 1), 1),
            server_cpu_share=round((cpu1 - cpu0) / window, 3),
            loadgen_cpu_share=round((own1 - own0) / window, 3),
            listen_overflows=drops1.get("ListenOverflows", 0) - drops0.get("ListenOverflows", 0),
            old_exit_code=old.returncode,
        )
        http.close()
        return result
    finally:
        for fan in fans:
            if fan.connection is not None and fan.connection.transport is not None:
                fan.connection.transport.close()
        for proc in (old, new):
            if proc is not None:
                stop(proc)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fans", type=int, default=10000)
    parser.add_argument("--store", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument("--redis-url", default="", help="a Redis of the benchmark's (default: start one)")
    parser.add_argument("--server-pin", default="", help="command prefix for the servers, e.g. 'taskset -c 0'")
    parser.add_argument("--interval", type=float, default=0.3, help="seconds between events")
    parser.add_argument("--before", type=float, default=2.0, help="seconds of events before the SIGTERM")
    parser.add_argument("--after", type=float, default=1.5, help="seconds of events after every fan caught up")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="give up after this long")
    parser.add_argument("--key", default="bench-key")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--log-dir", default="", help="keep the servers' logs here (default: a temporary directory)")
    parser.add_argument("--patches", default="", help="serve through bench/patched_serve.py with these (what-if runs)")
    args = parser.parse_args(argv)
    args.match_id = "storm"
    return args


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="scoreboard-storm-") as tmp:
        workdir = Path(tmp)
        args.port = free_port()
        pin = args.server_pin.split()
        if args.store == "redis" and not args.redis_url:
            with RedisServer(workdir, pin) as redis:
                spec = ServerSpec("redis", args.port, workdir, pin, redis.url, patches=args.patches)
                return await run_storm(args, spec, workdir)
        kind = "redis" if args.store == "redis" else "scoreboard"
        spec = ServerSpec(kind, args.port, workdir, pin, args.redis_url, patches=args.patches)
        return await run_storm(args, spec, workdir)


def main() -> None:
    args = parse_args()
    if raise_nofile(args.fans + 1000) < args.fans + 100:
        raise SystemExit(f"open-file limit {kernel_limits()['nofile']} is too low for {args.fans} fans")
    from loadgen import run_on_loop  # the same loop choice as the load generator's

    result, loop_name = run_on_loop(main_async, args, args.loop)
    result["loadgen_loop"] = loop_name
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
