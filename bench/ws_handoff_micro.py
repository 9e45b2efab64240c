"""What a WebSocket connection costs the server: our take-over against aiohttp's own WebSocketResponse.

Two measurements, for docs/architecture.md ("The WebSocket edge"):

1. The opening handshake alone, in this process: µs per call of wsproto's handshake
   (`handshake.accept_upgrade`: `H11Handshake.initiate_upgrade_connection` + `AcceptConnection`)
   against the hand-written accept key it replaced (SHA-1 + base64 and the header checks).
2. A server process per variant on uvloop, `--fans` raw clients connected and held open:
   server CPU (user + kernel, from /proc) per connection while they connect, and RSS per open
   connection. Variants: `takeover` (accept_upgrade + take_over to a protocol that reads and
   drops, i.e. our edge without the session) and `aiohttp` (`web.WebSocketResponse` with a 20 s
   heartbeat and the `async for msg in ws` loop every handler runs).

    .venv/bin/python bench/ws_handoff_micro.py [--fans 2000] [--runs 3]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procstat import free_port, raise_nofile  # noqa: E402

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SERVE = "--serve"


def handshake_us(calls: int) -> dict[str, float]:
    """µs per handshake: wsproto's against the hand-written accept key it replaced."""
    from aiohttp.test_utils import make_mocked_request

    from scoreboard.web.live.handshake import accept_upgrade

    key = base64.b64encode(os.urandom(16)).decode()
    headers = {"Host": "x", "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": key, "Origin": "http://x", "User-Agent": "Mozilla/5.0 (bench)",
               "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"}
    request = make_mocked_request("GET", "/ws?matches=a", headers=headers)

    def hand_written() -> bytes:
        h = request.headers
        assert h.get("Upgrade", "").lower().strip() == "websocket"
        assert "upgrade" in {t.strip().lower() for t in h.get("Connection", "").split(",")}
        assert h.get("Sec-WebSocket-Version", "") in ("13", "8", "7")
        k = h.get("Sec-WebSocket-Key", "")
        assert len(base64.b64decode(k, validate=True)) == 16
        accept = base64.b64encode(hashlib.sha1(k.encode() + GUID).digest())
        return b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
               b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"

    results = {}
    for name, call in (("hand_written", hand_written), ("wsproto", lambda: accept_upgrade(request))):
        for _ in range(200):
            call()
        started = time.perf_counter()
        for _ in range(calls):
            call()
        results[name] = (time.perf_counter() - started) / calls * 1e6
    return results


def serve(variant: str, port: int) -> None:
    import uvloop
    from aiohttp import web

    from scoreboard.web.live.handshake import accept_upgrade, take_over

    class Drop(asyncio.Protocol):
        def __init__(self, transport: asyncio.Transport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            pass

    async def ours(request: web.Request) -> web.StreamResponse:
        response, _ = take_over(request, accept_upgrade(request), lambda transport, ws: Drop(transport))
        return response

    async def theirs(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/ws", ours if variant == "takeover" else theirs)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop())


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def connect(port: int) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return writer


async def measure(variant: str, fans: int) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, SERVE, variant, str(port)])
    try:
        for _ in range(100):
            try:
                (await asyncio.open_connection("127.0.0.1", port))[1].close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        writers = [await connect(port) for _ in range(20)]  # warm up: first requests import and build
        await asyncio.sleep(0.5)
        rss0, cpu0 = proc_rss(server.pid), proc_cpu_s(server.pid)
        semaphore = asyncio.Semaphore(100)

        async def one() -> asyncio.StreamWriter:
            async with semaphore:
                return await connect(port)

        writers += await asyncio.gather(*(one() for _ in range(fans)))
        await asyncio.sleep(1.0)  # let the server settle (aiohttp finishes its handler tasks)
        cpu = proc_cpu_s(server.pid) - cpu0
        rss = proc_rss(server.pid) - rss0
        for writer in writers:
            writer.close()
        return {"cpu_us_per_connect": cpu / fans * 1e6, "rss_bytes_per_connection": rss / fans}
    finally:
        server.kill()  # aiohttp's graceful stop would wait on its WebSocket handlers
        server.wait(10)


async def main(args: argparse.Namespace) -> None:
    raise_nofile(args.fans + 500)
    result: dict[str, object] = {"handshake_us": handshake_us(args.calls)}
    runs: dict[str, list[dict[str, float]]] = {"takeover": [], "aiohttp": []}
    for _ in range(args.runs):
        for variant in runs:
            runs[variant].append(await measure(variant, args.fans))
    result["fans"] = args.fans
    result["median_of_runs"] = {
        variant: {key: round(statistics.median(r[key] for r in figures), 1) for key in figures[0]}
        for variant, figures in runs.items()
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    if sys.argv[1:2] == [SERVE]:
        serve(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fans", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20000)
    asyncio.run(main(parser.parse_args()))
