"""Push run of `make bench` (driven by bench/run.py): one goal to S push subscriptions on a
local push service, while N WebSocket fans watch the same match.

Measures pushes/s from the goal's POST to the last push received, the server's and its
sender process's CPU per push, and WebSocket fan-out latency of paced events (yellow cards,
which push nothing) without a push burst and during one. The push service here answers 201
at once and decrypts one request in `--verify-every` with `http_ece` (and checks its VAPID
JWT), so the sender cannot cut corners unseen; it runs in this process, beside the fans.

    python bench/pushgen.py --port P --server-pid PID --key K [--subscriptions 20000] [--fans 5000]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
from array import array
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import loadgen
from loadgen import Http, Run, connect_all, cpu_times as server_cpu_times, expect_2xx, percentile, perf

CARD = {"type": "card", "team": "away", "color": "yellow", "player": "Lionel Andrés Messi Cuccittini"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def child_pids(pid: int) -> list[int]:
    """The server's child processes (its push sender)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
    except OSError:
        pass
    return found


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += sum(server_cpu_times(pid))
        except OSError:
            pass
    return total


class LocalPushService:
    """Counts pushes; fully checks one in `verify_every` (VAPID JWT + aes128gcm decryption).

    Runs in a process of its own at a lower priority (`--serve-push`), so that on the load
    generator's core the fans' receive loop comes first: a fan's frame must not wait behind
    push requests in our own process, or we would measure ourselves, not the server.
    """

    def __init__(self, verify_every: int, port: int = 0, private_key: bytes = b"", auth: bytes = b"") -> None:
        self.verify_every = verify_every
        self.received = 0
        self.verified = 0
        self.problems: list[str] = []
        self.first = 0.0
        self.last = 0.0
        self.private_key = (ec.derive_private_key(int.from_bytes(private_key, "big"), ec.SECP256R1())
                            if private_key else ec.generate_private_key(ec.SECP256R1()))
        self.auth = auth or os.urandom(16)
        self.port = port or loadgen_free_port()

    def secrets(self) -> tuple[str, str]:
        raw = self.private_key.private_numbers().private_value.to_bytes(32, "big")
        return raw.hex(), self.auth.hex()

    def subscription(self, n: int) -> dict[str, Any]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": f"http://127.0.0.1:{self.port}/push/{n}",
                "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{n}", self.receive)
        app.router.add_get("/stats", self.stats)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port, backlog=1024).start()

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        now = perf()
        if not self.received:
            self.first = now
        self.received += 1
        self.last = now
        if self.received % self.verify_every == 1:
            self.verify(request, body)
        return web.Response(status=201)

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"received": self.received, "verified": self.verified, "first": self.first,
                                  "last": self.last, "problems": self.problems[:5]})

    def verify(self, request: web.Request, body: bytes) -> None:
        try:
            import http_ece
            import jwt

            scheme, _, params = request.headers["Authorization"].partition(" ")
            values = dict(p.strip().split("=", 1) for p in params.split(","))
            key = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), base64.urlsafe_b64decode(values["k"] + "=" * (-len(values["k"]) % 4)))
            jwt.decode(values["t"], key, algorithms=["ES256"], audience=f"http://127.0.0.1:{self.port}")
            message = json.loads(http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth,
                                                  version="aes128gcm"))
            assert scheme == "vapid" and message["kind"] == "goal", message
            self.verified += 1
        except Exception as exc:  # reported, never hidden
            self.problems.append(repr(exc)[:200])


def loadgen_free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def paced(run: Run, http: Http, path: str, start: int, count: int, interval: float, alive: int,
                until: asyncio.Event | None = None) -> array:
    """Post `count` cards every `interval` s (or until `until` is set, after at least three);
    the latencies of every frame from event `start` on (`start` - 1 for the goal's too)."""
    t0 = perf()
    posted = 0
    for i in range(count):
        if until is not None and until.is_set() and posted >= 3:
            break
        await asyncio.sleep(max(0.0, t0 + i * interval - perf()))
        run.post_times[start + i] = perf()
        await expect_2xx(http, "POST", path, CARD)
        posted += 1
    # Every event from the first measured one to the last card, to every fan.
    run.target = alive * (start + posted)
    run.done.clear()
    if run.delivered < run.target:
        try:
            await asyncio.wait_for(run.done.wait(), 30)
        except asyncio.TimeoutError:
            run.errors.append("paced cards: timed out waiting for deliveries")
    return array("d", run.latencies)


async def serve_push(args: argparse.Namespace) -> None:
    os.nice(10)
    service = LocalPushService(args.verify_every, args.push_port, bytes.fromhex(args.push_key), bytes.fromhex(args.push_auth))
    await service.start()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes it


async def push_stats(port: int) -> dict[str, Any]:
    stats = Http("127.0.0.1", port, "-")
    try:
        status, body = await stats.request("GET", "/stats")
        return dict(body)
    finally:
        stats.close()


async def scenario(args: argparse.Namespace) -> dict[str, Any]:
    push = LocalPushService(args.verify_every)  # here only for the keys and the subscriptions
    key_hex, auth_hex = push.secrets()
    service = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve-push", "--port", "0", "--server-pid", "0", "--push-port", str(push.port),
        "--push-key", key_hex, "--push-auth", auth_hex, "--verify-every", str(args.verify_every),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert service.stdout is not None
    await asyncio.wait_for(service.stdout.readline(), 30)
    try:
        return await measure(args, push)
    finally:
        assert service.stdin is not None
        service.stdin.close()
        await service.wait()


async def measure(args: argparse.Namespace, push: LocalPushService) -> dict[str, Any]:
    http = Http(args.host, args.port, args.key)
    match_id = f"push-{os.getpid()}"
    await expect_2xx(http, "POST", "/api/matches", {"id": match_id, "home": "Argentina", "away": "France"})
    events = f"/api/matches/{match_id}/events"
    view = await expect_2xx(http, "POST", events, {"type": "period_start", "period": 1})

    t0 = perf()
    clients = [Http(args.host, args.port, args.key) for _ in range(32)]

    async def subscriber(worker: int) -> None:
        for n in range(worker, args.subscriptions, len(clients)):
            body = {"subscription": push.subscription(n), "matches": [match_id], "events": ["goal"]}
            status, answer = await clients[worker].request("POST", "/api/push/subscriptions", body)
            if status != 201:
                raise RuntimeError(f"subscribe -> {status} {answer}")

    await asyncio.gather(*(subscriber(w) for w in range(len(clients))))
    for client in clients:
        client.close()
    subscribe_s = perf() - t0

    capacity = 2 * args.paced_events + 10
    run = Run(capacity)
    run.first_seq = view["seq"] + 1
    subscribers = await connect_all(run, args.host, args.port, f"/ws?matches={match_id}", args.fans, False)
    alive = sum(1 for s in subscribers if s.alive)
    await asyncio.sleep(1.0)

    # Without a push burst: paced cards (they push nothing).
    run.latencies = array("d")
    quiet = await paced(run, http, events, 0, args.paced_events, args.interval, alive)
    run.latencies = array("d")

    # The goal: every subscription gets a push; paced cards go on while the pushes go out.
    sender_pids = child_pids(args.server_pid)  # started when the first fan subscribed
    cpu_sender0 = cpu_of(sender_pids)
    cpu_server0 = sum(server_cpu_times(args.server_pid))
    pushes_done = asyncio.Event()
    goal_index = args.paced_events
    run.post_times[goal_index] = goal_posted = perf()
    await expect_2xx(http, "POST", events, {"type": "goal", "team": "home", "player": "Messi", "minute": 23})
    burst_cards = asyncio.ensure_future(
        paced(run, http, events, goal_index + 1, args.paced_events, args.interval, alive, pushes_done))
    deadline = perf() + args.timeout
    stats = await push_stats(push.port)
    while stats["received"] < args.subscriptions and perf() < deadline:
        await asyncio.sleep(0.05)
        stats = await push_stats(push.port)
    pushes_done.set()
    push_window = max(stats["last"] - goal_posted, 1e-9)
    cpu_sender = cpu_of(sender_pids) - cpu_sender0
    cpu_server = sum(server_cpu_times(args.server_pid)) - cpu_server0
    during = await burst_cards
    received = stats["received"]
    result = {
        "subscriptions": args.subscriptions,
        "subscribe_s": round(subscribe_s, 1),
        "fans": alive,
        "pushes_received": received,
        "pushes_verified": stats["verified"],
        "push_problems": stats["problems"],
        "push_window_s": round(push_window, 3),
        "pushes_per_s": round(received / push_window),
        "sender_processes": len(sender_pids),
        "sender_cpu_us_per_push": round(cpu_sender * 1e6 / received, 1) if received else None,
        "server_cpu_us_per_push": round(cpu_server * 1e6 / received, 1) if received else None,
        "quiet_p50_ms": _ms(percentile(quiet, 0.5)), "quiet_p99_ms": _ms(percentile(quiet, 0.99)),
        "burst_p50_ms": _ms(percentile(during, 0.5)), "burst_p99_ms": _ms(percentile(during, 0.99)),
        "paced_during_burst": len(during) // max(alive, 1),
        "errors": run.errors[:10],
    }
    q, b = result["quiet_p99_ms"], result["burst_p99_ms"]
    result["p99_ratio"] = round(b / q, 2) if q and b else None
    http.close()
    for sub in subscribers:
        if sub.transport is not None:
            sub.transport.close()
    return result


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description="push run of the Scoreboard benchmark")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", default="bench")
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--subscriptions", type=int, default=20000)
    parser.add_argument("--fans", type=int, default=5000)
    parser.add_argument("--paced-events", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.3)
    parser.add_argument("--verify-every", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--serve-push", action="store_true", help="(internal) be the local push service")
    parser.add_argument("--push-port", type=int, default=0)
    parser.add_argument("--push-key", default="")
    parser.add_argument("--push-auth", default="")
    args = parser.parse_args()
    if args.serve_push:
        runner = loadgen.uvloop.run if loadgen.uvloop is not None else asyncio.run
        runner(serve_push(args))
        return
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the benchmark only loads 127.0.0.1")
    loadgen.raise_nofile()
    if loadgen.uvloop is not None:
        result = loadgen.uvloop.run(scenario(args))
    else:
        result = asyncio.run(scenario(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
