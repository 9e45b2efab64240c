"""Sender cost alone: CPU µs per push of the real sender process, and pushes/s.

Starts the local push service of bench/pushgen.py (`--serve-push`, which verifies one push in
`--verify-every`) pinned to one core, and the sender process (`python -m scoreboard.notify.worker`,
through `pool.ProcessSender` as the server starts it) pinned to the other, then hands it one
goal for S subscriptions in the server's batches and reads the sender's utime+stime from /proc
before and after: the figure holds on a machine other people are also using. No server, no
fans: `make bench`'s push run measures those; this isolates the part that costs per push.

    .venv/bin/python bench/push_profile.py --runs 3
    .venv/bin/python bench/push_profile.py --spy /tmp/push-spy.txt   # py-spy the sender (raw)
    .venv/bin/python bench/push_profile.py --profile /tmp/push.prof  # cProfile, sender in-process
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procstat import cpu_s  # noqa: E402  (bench/ is scripts, not a package)
from pushgen import LocalPushService, push_stats  # noqa: E402

from scoreboard.notify.guard import OutboundGuard  # noqa: E402
from scoreboard.notify.notifier import BATCH  # noqa: E402
from scoreboard.notify.pool import ProcessSender  # noqa: E402
from scoreboard.notify.sender import PushJob, PushSender  # noqa: E402
from scoreboard.notify.vapid import Vapid, generate_pem  # noqa: E402
from scoreboard.notify.wire import SenderConfig  # noqa: E402

PAYLOAD = json.dumps({"kind": "goal", "title": "GOAL! Argentina 1-0 France", "body": "Messi 23'",
                      "match_id": "push-profile", "seq": 2, "url": "/matches/push-profile"}).encode()


def cpus() -> tuple[str, str]:
    available = sorted(os.sched_getaffinity(0))
    return (str(available[0]), str(available[-1]))


def jobs(push: LocalPushService, count: int, first_id: int) -> list[PushJob]:
    targets = []
    for n in range(count):
        sub = push.subscription(n)
        targets.append((f"sub-{n}", sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"]))
    return [PushJob(job_id=first_id + i, targets=targets[i:i + BATCH], payload=PAYLOAD, match_id="push-profile",
                    seq=first_id, topic="push-profile", urgency="high", expires_at=time.time() + 3600)
            for i in range(0, count, BATCH)]


async def received(port: int, count: int, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    stats = await push_stats(port)
    while stats["received"] < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        stats = await push_stats(port)
    return stats


async def run(args: argparse.Namespace) -> None:
    sender_cpu, service_cpu = cpus()
    push = LocalPushService(args.verify_every)
    key_hex, auth_hex = push.secrets()
    pin = ["taskset", "-c", service_cpu] if shutil.which("taskset") else []
    service = subprocess.Popen(
        [*pin, sys.executable, str(ROOT / "bench" / "pushgen.py"), "--serve-push",
         "--port", "0", "--server-pid", "0", "--push-port", str(push.port), "--push-key", key_hex,
         "--push-auth", auth_hex, "--verify-every", str(args.verify_every)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert service.stdout is not None and service.stdin is not None
    service.stdout.readline()
    vapid_pem = generate_pem()
    try:
        if args.profile:
            await in_process(args, push, vapid_pem)
            return
        config = SenderConfig(vapid_key=vapid_pem, vapid_subject="mailto:bench@scoreboard.invalid",
                              allow_private=True, concurrency=args.concurrency, log_level="warning", nice=0)
        transport = ProcessSender(config)
        os.sched_setaffinity(0, {int(sender_cpu)})  # the sender process inherits it
        transport.warm()
        await asyncio.sleep(1.0)
        child = transport._children[0].process
        assert child is not None
        os.sched_setaffinity(0, {int(service_cpu)})  # this process's own pickling stays off the sender's core
        spy = None
        total = 0
        for n in range(args.runs):
            if args.spy and n == args.runs - 1:
                py_spy = str(Path(sys.executable).parent / "py-spy")
                spy = subprocess.Popen([py_spy, "record", "-p", str(child.pid), "-r", "200", "--format", "raw",
                                        "-o", args.spy, "--nonblocking"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
                await asyncio.sleep(1.0)
            cpu0, service0, t0 = cpu_s(child.pid), cpu_s(service.pid), time.perf_counter()
            futures = [transport.send(job) for job in jobs(push, args.subscriptions, n * 1000 + 1)]
            results = await asyncio.gather(*futures)
            stats = await received(push.port, total + args.subscriptions)
            elapsed = time.perf_counter() - t0
            cpu = cpu_s(child.pid) - cpu0
            service_cpu = cpu_s(service.pid) - service0
            total += args.subscriptions
            sent = sum(r.sent for r in results)
            print(f"run {n + 1}: {sent:,} sent, {stats['received'] - total + args.subscriptions:,} received, "
                  f"{stats['verified']} verified, problems {stats['problems']}; {args.subscriptions / elapsed:,.0f} "
                  f"pushes/s, sender {cpu * 1e6 / args.subscriptions:.1f} µs/push (push service "
                  f"{service_cpu * 1e6 / args.subscriptions:.1f})", flush=True)
            if spy is not None:
                spy.send_signal(2)
                spy.wait()
        await transport.stop()
    finally:
        service.stdin.close()
        service.wait()


async def in_process(args: argparse.Namespace, push: LocalPushService, vapid_pem: str) -> None:
    os.sched_setaffinity(0, {int(cpus()[0])})
    sender = PushSender(Vapid.from_text(vapid_pem), OutboundGuard(True), args.concurrency)
    await sender.start()
    profiler = cProfile.Profile()
    profiler.enable()
    t0 = time.process_time()
    results = await asyncio.gather(*(sender.send(job) for job in jobs(push, args.subscriptions, 1)))
    cpu = time.process_time() - t0
    profiler.disable()
    await sender.stop()
    profiler.dump_stats(args.profile)
    print(f"{sum(r.sent for r in results):,} sent, {cpu * 1e6 / args.subscriptions:.1f} µs/push "
          f"(in process, under cProfile); profile in {args.profile}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--verify-every", type=int, default=200)
    parser.add_argument("--spy", default="", help="py-spy the sender during the last run, raw output here")
    parser.add_argument("--profile", default="", help="cProfile a sender run in this process instead")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))


if __name__ == "__main__":
    main()
