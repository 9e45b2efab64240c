"""Running the service: logging, signals, graceful shutdown, worker processes."""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from aiohttp import web

from .errors import StoreInUse
from .listener import FD_RESERVE_MIN, ConnectionGuard, connection_cap, listen, open_file_limit
from .logs import setup_logging
from .settings import DEV_KEY, Settings
from .web.metrics import METRICS_KEY
from .workers import Supervisor
from .web.app import close_live_connections, create_app
from .web.keys import CONNECTIONS_KEY, FRONT_DOOR_KEY, SETTINGS_KEY
from .web.live.close_codes import CloseCode

log = logging.getLogger("scoreboard")

# Seconds runner.cleanup() gives requests still running after the drain before cancelling them.
CLEANUP_GRACE = 1.0
# Seconds a drain keeps idle keep-alive connections open for what their clients had just sent.
DRAIN_GRACE = 1.0


def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; returns the process exit code."""
    setup_logging(settings.log_level, settings.log_format)
    if settings.web_concurrency > 1 and not settings.redis_url:
        print(
            f"scoreboard: bad setting: WEB_CONCURRENCY={settings.web_concurrency} needs REDIS_URL: "
            "workers on one SQLite file would each keep their own hub and log cache. "
            "Set WEB_CONCURRENCY=1 or configure Redis.",
            file=sys.stderr,
        )
        return 2
    try:
        factory = loop_factory(settings.event_loop)
    except ImportError:
        print("scoreboard: bad setting: event_loop=uvloop but uvloop is not installed: "
              "pip install 'scoreboard[fast]', or set SCOREBOARD_EVENT_LOOP=auto", file=sys.stderr)
        return 2
    if settings.web_concurrency > 1:
        return _run_workers(settings, factory)
    return _run(_serve(settings), factory)


def loop_factory(event_loop: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory for "uvloop", and for "auto" when installed; None: asyncio's own.

    uvloop runs the transports and the loop in C: it cut the loop's share of an ingest request
    (README "Performance"). Raises ImportError for "uvloop" when it is not installed.
    """
    if event_loop == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if event_loop == "uvloop":
            raise
        return None
    return uvloop.new_event_loop


def _run(main: Coroutine[Any, Any, int], factory: Callable[[], asyncio.AbstractEventLoop] | None) -> int:
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


async def _serve(settings: Settings, reuse_port: bool = False) -> int:
    app = create_app(settings)
    # access_log=None: scoreboard.web.metrics logs each request once, with its request id.
    # shutdown_timeout is the grace cleanup() gives what the drain below did not finish.
    # keepalive_timeout: how long an idle keep-alive connection is kept (listener.py).
    runner = web.AppRunner(
        app, shutdown_timeout=CLEANUP_GRACE, handle_signals=False, access_log=None,
        keepalive_timeout=settings.keepalive_timeout,
    )
    try:
        await runner.setup()
    except StoreInUse as exc:
        print(f"scoreboard: cannot start: {exc}", file=sys.stderr)
        return 2
    tune_gc()
    assert runner.server is not None
    fd_limit = open_file_limit()
    cap = connection_cap(settings.max_connections, fd_limit)
    if cap > fd_limit - FD_RESERVE_MIN:
        log.warning("max_connections=%d leaves fewer than %d of the %d open files for anything else: "
                    "past that, new connections fail instead of getting a 503", cap, FD_RESERVE_MIN, fd_limit)
    guard = connection_guard(app, runner.server, cap)
    try:
        listener = await listen(guard, settings.host, settings.port, reuse_port)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", settings.host, settings.port, exc.strerror or exc)
        await runner.cleanup()
        return 1
    log.info("scoreboard serving on http://%s:%s (%s, %s loop, up to %d connections)", settings.host, settings.port,
             "redis " + settings.public_dict()["redis_url"] if settings.redis_url else f"sqlite {settings.db}",
             _loop_name(asyncio.get_running_loop()), cap)
    if settings.uses_dev_key:
        log.warning("scorekeepers use the public local key %r (make run): set SCOREBOARD_API_KEYS "
                    "for anything others can reach", DEV_KEY)
    elif not settings.api_keys:
        log.warning("no SCOREBOARD_API_KEYS set: nobody can post events")
    ephemeral = ephemeral_storage_warning(settings, os.environ)
    if ephemeral:
        log.warning("%s", ephemeral)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop(code: CloseCode, name: str) -> None:
        log.info("%s received: shutting down", name)
        app[CONNECTIONS_KEY].close_code = code
        stop.set()

    loop.add_signal_handler(signal.SIGTERM, request_stop, CloseCode.SERVICE_RESTART, "SIGTERM")
    loop.add_signal_handler(signal.SIGINT, request_stop, CloseCode.GOING_AWAY, "SIGINT")
    await stop.wait()
    await _drain(app, listener, guard, settings.shutdown_timeout)
    # cleanup(): close idle keep-alive connections, cancel what is still running after
    # CLEANUP_GRACE, close the store.
    await runner.cleanup()
    log.info("stopped")
    return 0


def connection_guard(app: web.Application, server: web.Server, cap: int) -> ConnectionGuard:
    """What meets each new connection (listener.py): the cap, the header deadline, and the live
    edge's front door (web/live/front.py) before aiohttp's request handler."""
    registry = app[CONNECTIONS_KEY]
    guard = ConnectionGuard(server, cap, app[SETTINGS_KEY].header_timeout, lambda: registry.websockets,
                            front=app[FRONT_DOOR_KEY].open)
    registry.taken_over = guard.taken_over
    return guard


# Objects allocated (net) before a young-generation collection: Python's 700 makes one run
# every few requests, ~10-14 µs per ingested event here, and each run walks the young objects
# of every live connection touched since.
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Fewer cyclic-GC passes, and none over what start-up built.

    Almost nothing here forms reference cycles per request; what the collector mostly does is
    walk objects that live for the whole process (modules, routes, settings) or for a fan's
    whole connection. `gc.freeze()` moves what exists now out of its reach for good.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def _loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


# Variables a platform sets in every process, on hosts whose disk is wiped at each restart
# and deploy. Dokku sets DYNO too.
EPHEMERAL_PLATFORMS = {"DYNO": "Heroku or Dokku", "RENDER": "Render"}


def ephemeral_storage_warning(settings: Settings, env: Mapping[str, str]) -> str | None:
    """The start-up warning for SQLite on a disk that does not survive restarts, or None."""
    if settings.redis_url:
        return None
    platform = next((name for var, name in EPHEMERAL_PLATFORMS.items() if env.get(var)), None)
    if platform is None and not settings.ephemeral_disk:
        return None
    where = platform or "a disk marked ephemeral (ephemeral_disk)"
    return (
        f"running on {where} without REDIS_URL: matches and scores are kept in the SQLite file "
        f"{settings.db}, which is lost at the next restart or deploy. Add Redis "
        "(e.g. `heroku addons:create heroku-redis`) so scores survive."
    )


async def _drain(app: web.Application, listener: asyncio.AbstractServer, guard: ConnectionGuard,
                 timeout: float) -> None:
    """Stop accepting, tell live clients to reconnect, answer what keep-alive clients sent.

    Done before runner.cleanup() because aiohttp, once shutting a connection down, drops the
    bytes still arriving on it: a POST whose body was half-sent would never be answered.
    Answers during the drain carry `Connection: close`. A request a keep-alive client sent just
    before or after the signal may not have reached a handler yet (nothing is in flight for a
    moment): so while HTTP connections are open the drain lasts at least DRAIN_GRACE, and only
    then are the idle ones closed (by runner.cleanup).
    """
    listener.close()
    metrics = app[METRICS_KEY]
    metrics.draining = True
    telling = asyncio.ensure_future(close_live_connections(app))
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + timeout
    while loop.time() < deadline:
        if not metrics.in_flight and (not guard.open_http or loop.time() - started >= DRAIN_GRACE):
            break
        await asyncio.sleep(0.02)
    if metrics.in_flight:
        log.warning("%d requests still running after %.0f s: cancelling them", metrics.in_flight, timeout)
    remaining = max(0.1, deadline - loop.time())
    try:
        await asyncio.wait_for(telling, remaining)
    except asyncio.TimeoutError:
        log.warning("some live clients did not acknowledge the close in time")


def _run_workers(settings: Settings, factory: Callable[[], asyncio.AbstractEventLoop] | None) -> int:
    """WEB_CONCURRENCY workers sharing the port (SO_REUSEPORT), replaced when one dies (workers.py)."""
    return Supervisor(settings.web_concurrency, lambda: _run(_serve(settings, reuse_port=True), factory)).run()
