"""Where a server's CPU went, from a raw `py-spy record --format raw` file of it.

Three views, in µs per connection once scaled by the measured CPU per connection: the
connect path in parts (for the ranked list in README "Performance"), self time by the
innermost frame of ours, and inclusive time of every frame of ours or aiohttp's. py-spy
samples a thread while it is not waiting, so the shares follow CPU time (a thread
descheduled on a busy machine is counted where it stood).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any


# Frames every sample of the loop thread has: not worth listing as inclusive costs.
OUTER = ("<module>", "main", "serve", "_run", "Runner.run", "_run_module_as_main", "_run_code")


def _frame_name(frame: str) -> tuple[str, str]:
    """`LiveSession.subscribe (scoreboard/web/session.py:134)` -> (name, "scoreboard/web/session.py")."""
    name, _, where = frame.partition(" (")
    return name, where.rsplit(":", 1)[0]


def charge(stack: list[str]) -> str:
    """The innermost frame of ours or aiohttp's (what the stdlib, wsproto, json or logging did
    is charged to its caller), or the event loop itself when there is none."""
    for frame in reversed(stack):
        name, where = _frame_name(frame)
        if name in OUTER:
            continue
        if "scoreboard/" in where:
            return f"{where.split('scoreboard/', 1)[1]}:{name}"
        if "aiohttp/" in where:
            return f"aiohttp {where.rsplit('/', 1)[-1]}:{name}"
    return "event loop (uvloop's C: accept, epoll, socket reads and writes, callbacks, task steps)"


# The connect path in parts, for the ranked list. A sample whose stack holds a logging frame
# goes to the log lines; else to the part of its innermost frame of ours (what aiohttp, the
# stdlib or wsproto did below our code is charged to our caller); else, with no frame of
# ours, to aiohttp's part of its innermost aiohttp frame; else to the event loop.
LOGGING = ("logging/__init__.py", "scoreboard/logs.py", "scoreboard/redact.py")
LOG_FUNCTIONS = ("connection_opened", "connection_closed")
OURS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("snapshot and `subscribed` writes (frame, send())", ("WebSocketConnection.send_text", "WebSocketFan.send_json",
                                                        "websocket_text_frame", "WebSocketFan._send ")),
    ("match lookups: access checks and catch-up (screen twice, get_match, catch_up, store)",
     ("LiveAccess.screen", "LiveAccess.needs_auth", "ScoreService.", "SqliteStore.", "RedisStore.", "match_view",
      "to_dict", "FrameHistory.")),
    ("subscribe bookkeeping (session, hub, cursors)", ("LiveSession.", "Hub.")),
    ("handshake: wsproto's 101, take-over", ("accept_upgrade", "take_over", "hand_over", "HandedOver")),
    ("error middleware (request id, HTTPS check, preflight)", ("error_middleware", "came_over_https",
                                                               "preflight_response", "add_security_headers")),
    ("metrics middleware (timing, in-flight count, request metrics)", ("request_log_middleware",
                                                                       "Metrics.observe_request", "route_of")),
    ("/ws handler's own checks (origin, matches, since)", ("websocket (", "origin_allowed", "parse_matches",
                                                          "parse_since")),
)
OTHER_OURS = "fan objects, registry, heartbeat, worker task (the rest of ours)"
AIOHTTP: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("aiohttp: connection set-up (protocol, TCP_NODELAY, keep-alive)", ("RequestHandler.connection_made",
                                                                        "Server.connection_made", "tcp_")),
    ("aiohttp: request parsing", ("RequestHandler.data_received",)),
)
OTHER_AIOHTTP = "aiohttp: request dispatch and teardown (task, router, request, response)"


def _part(frame: str, parts: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    return next((label for label, markers in parts if any(marker in frame for marker in markers)), None)


def part_of(stack: list[str]) -> str:
    frames = [frame for frame in stack if frame.partition(" (")[0] not in OUTER]
    if any(marker in frame for frame in frames for marker in LOGGING) or any(
            frame.startswith(LOG_FUNCTIONS) for frame in frames):
        return "log lines (access line, `ws open`; format, secret filter, write)"
    for frame in reversed(frames):
        if "scoreboard/" in frame:
            return _part(frame, OURS) or OTHER_OURS
    for frame in reversed(frames):
        if "aiohttp/" in frame:
            return _part(frame, AIOHTTP) or OTHER_AIOHTTP
    return "event loop (uvloop's C: accept, epoll, socket reads and writes, callbacks, task steps)"


def summarize_py_spy(raw: Path, us_per_connection: float, top: int = 40) -> dict[str, Any]:
    """Self time (by innermost frame of ours) and inclusive time (every frame of ours or
    aiohttp's on the stack), in µs per connection, from a raw py-spy file."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        stack = stack_text.split(";")
        count = int(count_text)
        total += count
        self_time[charge(stack)] += count
        parts[part_of(stack)] += count
        seen = set()
        for frame in stack:
            name, where = _frame_name(frame)
            if name in OUTER or not ("scoreboard/" in where or "aiohttp/" in where):
                continue
            seen.add(f"{name} ({where.rsplit('/', 1)[-1]})")
        for label in seen:
            inclusive[label] += count

    def rows(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(label, round(n / total * us_per_connection, 1)) for label, n in counter.most_common(top)]

    own, nested, ranked = rows(self_time), rows(inclusive), rows(parts)
    print(f"\nThe connect path in parts, µs per connection ({total} samples):")
    for label, us in ranked:
        print(f"  {us:7.1f} µs  {label}")
    print(f"\n{total} samples, {us_per_connection:.0f} µs/connection. Self time by innermost frame of ours "
          "(library calls charged to their caller):")
    for label, us in own:
        print(f"  {us:7.1f} µs  {label}")
    print("\nInclusive (each frame of ours or aiohttp's on the stack):")
    for label, us in nested:
        print(f"  {us:7.1f} µs  {label}")
    return {"samples": total, "us_per_connection": us_per_connection, "parts": ranked, "self": own,
            "inclusive": nested}
