"""In-process fan-out micro-benchmark: the server's cost of one delivery, without HTTP or a load generator.

N live sessions, each writing to a real (socketpair) asyncio transport, subscribe to one match;
one frame is published K times. Reports µs per delivery of `Hub.publish` (user + kernel send),
split by `resource.getrusage`, for our path (the hub offers the frame to each session's
`try_write`, which writes the shared bytes) and for the textbook loop over the same
sockets (`for ws in fans: await send(frame)`, one coroutine per fan), and tracemalloc bytes
per idle session. Quick to run while changing the hot path; `bench/run.py` is the real thing.

    .venv/bin/python bench/fanout_micro.py [--fans 5000] [--events 20] [--cprofile]
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import resource
import socket
import time
import tracemalloc
from typing import Any

from scoreboard.frames import Frame
from scoreboard.hub import Hub
from scoreboard.web.live.framing import websocket_bytes
from scoreboard.service import CatchUp
from scoreboard.web.live.session import Cursor, LiveSession


class Service:
    private_matches: set[str] = set()

    async def catch_up(self, match_id: str, since: int | None, epoch: str | None = None) -> CatchUp:
        return CatchUp(None, [], 0)


class Sink(asyncio.Protocol):
    pass


async def _noop_send(text: str, kind: str, cursor: str | None) -> None:
    return None


def _rusage() -> tuple[float, float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), usage.ru_utime, usage.ru_stime


async def main(args: argparse.Namespace) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    hub = Hub()
    transports: list[asyncio.Transport] = []
    peers: list[socket.socket] = []
    for _ in range(args.fans):
        ours, theirs = socket.socketpair()
        theirs.setblocking(False)
        transport, _ = await loop.create_connection(Sink, sock=ours)
        transports.append(transport)  # type: ignore[arg-type]
        peers.append(theirs)

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    sessions = []
    for transport in transports:
        session = LiveSession(Service(), hub, _noop_send, buffer_limit=512, max_subscriptions=10,
                              on_overflow=lambda: None)
        session.write_to(transport)
        await session.subscribe(["m"], {"m": Cursor(0)})
        sessions.append(session)
    per_session = (tracemalloc.get_traced_memory()[0] - before) / args.fans
    tracemalloc.stop()

    def drain() -> None:
        for peer in peers:
            try:
                while peer.recv(65536):
                    pass
            except BlockingIOError:
                pass

    text = json.dumps({"type": "event", "match_id": "m", "seq": 0, "pad": "x" * 150})
    profiler = cProfile.Profile() if args.cprofile else None
    direct = [0.0, 0.0, 0.0]
    for seq in range(1, args.events + 1):
        frame = Frame("m", seq, text)
        start = _rusage()
        if profiler:
            profiler.enable()
        hub.publish(frame)
        if profiler:
            profiler.disable()
        end = _rusage()
        for i in range(3):
            direct[i] += end[i] - start[i]
        await asyncio.sleep(0)
        drain()

    # The textbook loop over the same sockets: encode per fan, one awaited send per fan.
    async def send(transport: asyncio.Transport, message: str) -> None:
        transport.write(websocket_bytes(Frame("m", 0, message)))

    textbook = [0.0, 0.0, 0.0]
    for _ in range(args.events):
        start = _rusage()
        for transport in transports:
            await send(transport, text)
        end = _rusage()
        for i in range(3):
            textbook[i] += end[i] - start[i]
        await asyncio.sleep(0)
        drain()

    deliveries = args.fans * args.events
    result = {
        "fans": args.fans, "events": args.events,
        "direct_us_per_delivery": {"wall": direct[0] / deliveries * 1e6, "user": direct[1] / deliveries * 1e6,
                                   "sys": direct[2] / deliveries * 1e6},
        "textbook_us_per_delivery": {"wall": textbook[0] / deliveries * 1e6,
                                     "user": textbook[1] / deliveries * 1e6, "sys": textbook[2] / deliveries * 1e6},
        "session_bytes_tracemalloc": round(per_session),
    }
    for session in sessions:
        await session.close()
    for transport in transports:
        transport.close()
    for peer in peers:
        peer.close()
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fans", type=int, default=5000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--uvloop", action="store_true")
    options = parser.parse_args()
    if options.uvloop:
        import uvloop
        uvloop.install()
    print(json.dumps(asyncio.run(main(options)), indent=1))
