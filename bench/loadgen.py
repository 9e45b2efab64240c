"""Load generator for `bench/run.py`: N WebSocket subscribers to one match, plus scorekeepers.

Runs in its own process (pinned to its own core by run.py) and prints one JSON object.

Why not aiohttp's client for the subscribers: every message then costs a future, a task wake-up
and a Python-level frame object, and on one core it could not keep up with a server near the
one-send-per-delivery floor, so the load generator, not the server, would set the figures. The
subscribers here are bare asyncio protocols that parse server frames (never masked, rarely
fragmented) straight from the bytes received, inflate them when permessage-deflate was agreed,
and answer pings. The scorekeepers use a minimal keep-alive HTTP/1.1 client for the same reason.
The run reports its own CPU use so a saturated load generator is visible in the results.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import importlib
import json
import os
import re
import resource
import statistics
import sys
import time
import zlib
from array import array
from types import ModuleType
from typing import Any

uvloop: ModuleType | None
try:
    uvloop = importlib.import_module("uvloop")
except ImportError:  # the load generator then runs on asyncio's own loop, and says so
    uvloop = None

perf = time.perf_counter
CLK_TCK = os.sysconf("SC_CLK_TCK")
PLAYER = "Lionel Andrés Messi Cuccittini"
# An event message is recognised and its seq read without a full JSON parse: at 10,000
# subscribers the parse is a third of the load generator's cost per delivery. The first
# "seq" in an event message is either the top-level one or the event's own: the same number.
EVENT_SEQ = re.compile(rb'"type"\s*:\s*"event".*?"seq"\s*:\s*(\d+)|"seq"\s*:\s*(\d+).*?"type"\s*:\s*"event"', re.S)
CONNECT_CONCURRENCY = 100  # in-flight handshakes; keeps under a default listen backlog of 128


# --------------------------------------------------------------------------- /proc readings


def server_cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) of every thread of `pid`, in seconds (fields 14 and 15 of /proc/PID/stat).

    Kept apart because the floor is the kernel's `send()`: user time is what we can cut.
    """
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def server_cpu_s(pid: int) -> float:
    """utime + stime of every thread of `pid`, in seconds."""
    return sum(server_cpu_times(pid))


def server_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def percentile(values: Any, q: float) -> float | None:
    if not len(values):
        return None
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


# --------------------------------------------------------------------------- HTTP


class Http:
    """One keep-alive HTTP/1.1 connection; requests are sent one at a time on it."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {key}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        ).encode()
        self.writer.write(head + self.auth + b"\r\n" + data)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" in headers:
            payload = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunks.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            payload = b"".join(c[:-2] for c in chunks)
        else:
            payload = b""
        if headers.get("connection", "").lower() == "close":
            self.writer.close()
        return status, (json.loads(payload) if payload else None)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# --------------------------------------------------------------------------- subscribers


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
        self.ready = 0
        self.all_ready = asyncio.Event()
        self.expected_ready = 0
        self.unexpected = 0
        self.errors: list[str] = []


class Subscriber(asyncio.Protocol):
    """A WebSocket client reduced to what the benchmark needs to count and time deliveries."""

    def __init__(self, run: Run, request: bytes, offer_deflate: bool) -> None:
        self.run = run
        self.request = request
        self.offer_deflate = offer_deflate
        self.transport: asyncio.Transport | None = None
        self.handshaking = True
        self.buf = b""
        self.inflater: Any = None
        self.reset_inflater = False
        self.deflate = False
        self.fragments: list[bytes] = []
        self.fragment_compressed = False
        self.ready = False
        self.seen = bytearray(run.capacity)
        self.count = 0
        self.duplicates = 0
        self.out_of_order = 0
        self.last_seq = 0
        self.close_code: int | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.ready:
            self.run.errors.append(f"lost before snapshot: {exc!r}")
            self._mark_ready()

    def data_received(self, data: bytes) -> None:
        now = perf()
        buf = self.buf + data if self.buf else data
        if self.handshaking:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            self._handshake(buf[:end].decode("latin-1"))
            if self.handshaking:
                self.buf = b""
                return
            buf = buf[end + 4 :]
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, length = buf[pos], buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = (buf[pos + 2] << 8) | buf[pos + 3], 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            end = pos + head + length
            if end > size:
                break
            self._frame(b0, buf[pos + head : end], now)
            pos = end
        self.buf = buf[pos:] if pos < size else b""

    def _handshake(self, head: str) -> None:
        lines = head.split("\r\n")
        if " 101 " not in lines[0] + " ":
            self.run.errors.append(f"handshake: {lines[0]}")
            self.close_code = -1
            assert self.transport is not None
            self.transport.close()
            return
        self.handshaking = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-extensions" and "permessage-deflate" in value:
                self.deflate = True
                # A decoder with the largest window reads any smaller window the server picked.
                self.reset_inflater = "server_no_context_takeover" in value
                self.inflater = zlib.decompressobj(-15)

    def _frame(self, b0: int, payload: bytes, now: float) -> None:
        opcode = b0 & 0x0F
        if opcode in (1, 2):
            if b0 & 0x80:
                self._message(payload, bool(b0 & 0x40), now)
            else:
                self.fragments, self.fragment_compressed = [payload], bool(b0 & 0x40)
        elif opcode == 0:
            self.fragments.append(payload)
            if b0 & 0x80:
                self._message(b"".join(self.fragments), self.fragment_compressed, now)
                self.fragments = []
        elif opcode == 9:
            self._send(0xA, payload)
        elif opcode == 8:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self._send(0x8, payload[:2])
            assert self.transport is not None
            self.transport.close()

    def _message(self, payload: bytes, compressed: bool, now: float) -> None:
        if compressed:
            payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
            if self.reset_inflater:
                self.inflater = zlib.decompressobj(-15)
        found = EVENT_SEQ.search(payload)
        if found is not None:
            self._event(int(found.group(1) or found.group(2)), now)
            return
        message = json.loads(payload)
        kind = message.get("type")
        if kind == "event":
            self._event(message["seq"], now)
        elif kind == "snapshot":
            self._mark_ready()
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

    def _mark_ready(self) -> None:
        if not self.ready:
            self.ready = True
            self.run.ready += 1
            if self.run.ready == self.run.expected_ready:
                self.run.all_ready.set()

    def _send(self, opcode: int, payload: bytes) -> None:
        """A client frame must be masked (RFC 6455 5.3)."""
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)


def ws_request(host: str, port: int, path: str, offer_deflate: bool) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    extension = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if offer_deflate else ""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n"
        f"{extension}\r\n"
    ).encode()


async def connect_all(run: Run, host: str, port: int, path: str, n: int, offer_deflate: bool) -> list[Subscriber]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    subscribers: list[Subscriber] = []
    run.expected_ready = n

    async def one() -> None:
        async with gate:
            sub = Subscriber(run, ws_request(host, port, path, offer_deflate), offer_deflate)
            subscribers.append(sub)
            try:
                await loop.create_connection(lambda: sub, host, port)
            except OSError as exc:
                run.errors.append(f"connect: {exc!r}")
                sub._mark_ready()
                return
            # Hold the slot until the server has subscribed us (snapshot), so the backlog stays short.
            while not sub.ready and not sub.lost:
                await asyncio.sleep(0.005)

    await asyncio.gather(*(one() for _ in range(n)))
    return subscribers


# --------------------------------------------------------------------------- scenarios


def goal(index: int, prefix: str) -> dict[str, Any]:
    """A realistic goal event (~200 bytes on the wire once the server adds seq, at, score)."""
    return {
        "id": f"{prefix}-{index}",
        "type": "goal",
        "team": "home" if index % 2 else "away",
        "player": PLAYER,
        "minute": index % 90 + 1,
    }


async def expect_2xx(http: Http, method: str, path: str, body: Any = None) -> Any:
    status, payload = await http.request(method, path, body)
    if not 200 <= status < 300:
        raise RuntimeError(f"{method} {path} -> {status} {payload}")
    return payload


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
) -> dict[str, Any]:
    """Post `count` events (paced every `interval` s, or back-to-back when 0) and wait for them."""
    run.latencies = array("d")
    run.target = run.delivered + alive * count
    run.done.clear()
    round_trips = array("d")
    (user0, sys0), own0, t0 = server_cpu_times(pid), own_cpu_s(), perf()
    cpu0 = user0 + sys0
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
    (user1, sys1), own1, t1 = server_cpu_times(pid), own_cpu_s(), perf()
    cpu1 = user1 + sys1
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
        "post_p50_ms": _ms(percentile(round_trips, 0.5)),
        "latency_p50_ms": _ms(percentile(run.latencies, 0.50)),
        "latency_p99_ms": _ms(percentile(run.latencies, 0.99)),
        "fanout_p50_ms": _ms(statistics.median(fanouts) if fanouts else None),
        "fanout_max_ms": _ms(max(fanouts) if fanouts else None),
        "loadgen_cpu_share": round((own1 - own0) / max(t1 - t0, 1e-9), 3),
        "loadgen_cpu_us_per_delivery": round((own1 - own0) * 1e6 / deliveries, 2) if deliveries else None,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


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
    rss_before = server_rss_kb(args.server_pid)
    t0 = perf()
    subscribers = await connect_all(run, host, port, f"/ws?matches={match_id}", args.subscribers, args.deflate)
    connect_s = perf() - t0
    await asyncio.sleep(1.0)
    rss_after = server_rss_kb(args.server_pid)
    alive = sum(1 for s in subscribers if s.ready and not s.lost and s.close_code is None)
    result: dict[str, Any] = {
        "subscribers": args.subscribers,
        "connected": alive,
        "deflate_offered": args.deflate,
        "deflate_agreed": sum(1 for s in subscribers if s.deflate),
        "connect_s": round(connect_s, 2),
        "rss_before_kb": rss_before,
        "rss_idle_kb": rss_after,
        "rss_kb_per_subscriber": round((rss_after - rss_before) / max(alive, 1), 2),
    }
    result["paced"] = await post_phase(run, http, args.server_pid, events_path, 0, args.paced_events, args.interval, alive, "paced")
    result["burst"] = await post_phase(run, http, args.server_pid, events_path, args.paced_events, args.burst_events, 0.0, alive, "burst")
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
        cpu0, own0, t0 = server_cpu_s(args.server_pid), own_cpu_s(), perf()
        await asyncio.sleep(max(0.0, deadline - perf()))
        return cpu0, own0, t0, server_cpu_s(args.server_pid), own_cpu_s()

    window, *_ = await asyncio.gather(clock(), *(keeper(n, http) for n, http in enumerate(keepers)))
    cpu0, own0, t0, cpu1, own1 = window
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
        "request_p50_ms": _ms(percentile(times, 0.5)),
        "request_p99_ms": _ms(percentile(times, 0.99)),
        "server_cpu_share": round((cpu1 - cpu0) / elapsed, 3),
        "loadgen_cpu_share": round((own1 - own0) / elapsed, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Scoreboard benchmark load generator (see bench/run.py)")
    parser.add_argument("mode", choices=("fanout", "ingest"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", default="bench")
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--subscribers", type=int, default=1000)
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
    raise_nofile()
    scenario = fanout if args.mode == "fanout" else ingest
    if args.loop == "uvloop" or (args.loop == "auto" and uvloop is not None):
        if uvloop is None:
            parser.error("uvloop is not installed (pip install -r bench/requirements.txt)")
        result = uvloop.run(scenario(args))
        loop_name = "uvloop"
    else:
        result = asyncio.run(scenario(args))
        loop_name = "asyncio"
    result["loadgen_loop"] = loop_name
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
