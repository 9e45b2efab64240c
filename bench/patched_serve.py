"""`python -m scoreboard serve` with parts of the connect path switched off: what each one costs.

For `bench/connect_profile.py` only, never for serving: each patch removes a piece of work a
fan's connection does (a log line, a middleware, the access checks) or changes a knob, so the
difference in server CPU per connection against the unpatched server is that piece's price,
measured rather than estimated from a profile.

    python bench/patched_serve.py --patch no-access-log,no-live-log -- serve --port 8080 ...
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _require(owner: Any, name: str) -> None:
    """A patch whose target moved must fail loudly, not measure the unpatched server."""
    if not hasattr(owner, name):
        raise SystemExit(f"patched_serve: {getattr(owner, '__name__', owner)!s} has no {name!r} any more")


def _logger(name: str) -> logging.Logger:
    from scoreboard.web import metrics

    if name not in {getattr(value, "name", None) for value in vars(metrics).values()}:
        raise SystemExit(f"patched_serve: scoreboard.web.metrics logs to no {name!r} any more")
    return logging.getLogger(name)


def _no_access_log() -> None:
    """The access line aiohttp's request for /ws gets (`GET /ws 101 ...`)."""
    _logger("scoreboard.access").setLevel(logging.WARNING)


def _no_live_log() -> None:
    """The `ws open` and `ws closed` lines of scoreboard.live."""
    _logger("scoreboard.live").setLevel(logging.WARNING)


def _passthrough_middleware(name: str) -> None:
    from aiohttp import web

    from scoreboard.web import app

    @web.middleware
    async def passthrough(request: web.Request, handler: Any) -> web.StreamResponse:
        return await handler(request)  # type: ignore[no-any-return]

    _require(app, name)
    setattr(app, name, passthrough)


def _no_metrics_middleware() -> None:
    """request_log_middleware: timing, in-flight count, request metrics and the access line."""
    _passthrough_middleware("request_log_middleware")


def _no_error_middleware() -> None:
    """error_middleware: request id, HTTPS check, CORS preflight, security headers."""
    _passthrough_middleware("error_middleware")


def _no_access_checks() -> None:
    """LiveAccess.screen, run twice per connection (needs_auth, then subscribe): a match lookup
    and a whole match view built per requested match, to read one `private` flag."""
    from scoreboard.web.live.access import LiveAccess

    async def screen(self: LiveAccess, match_ids: list[str], *, follow: bool = True) -> Any:
        return list(match_ids), []

    _require(LiveAccess, "screen")
    LiveAccess.screen = screen  # type: ignore[method-assign]


def _backlog(size: int) -> Callable[[], None]:
    def patch() -> None:
        """The listen backlog: aiohttp's TCPSite default is 128."""
        from aiohttp import web

        original = web.TCPSite.__init__

        def init(self: web.TCPSite, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("backlog", size)
            original(self, *args, **kwargs)

        web.TCPSite.__init__ = init  # type: ignore[method-assign]

    return patch


def _redis_pool_unbounded() -> None:
    """redis-py's asyncio pool (8.1 here) holds at most 100 connections unless told otherwise and
    raises MaxConnectionsError past them rather than waiting: under a reconnect storm every
    handshake reads Redis, so the 101st at once fails. Here the cap is 100,000."""
    from scoreboard.store import redis as redis_store

    _require(redis_store, "Redis")
    original = redis_store.Redis.from_url

    def from_url(url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("max_connections", 100_000)
        return original(url, **kwargs)

    redis_store.Redis.from_url = from_url  # type: ignore[method-assign,assignment]


PATCHES: dict[str, Callable[[], None]] = {
    "no-access-log": _no_access_log,
    "no-live-log": _no_live_log,
    "no-metrics-middleware": _no_metrics_middleware,
    "no-error-middleware": _no_error_middleware,
    "no-access-checks": _no_access_checks,
    "backlog-4096": _backlog(4096),
    "redis-pool-unbounded": _redis_pool_unbounded,
}


def main() -> int:
    argv = sys.argv[1:]
    patches: list[str] = []
    if argv[:1] == ["--patch"]:
        patches = [p for p in argv[1].split(",") if p]
        argv = argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    for name in patches:
        if name not in PATCHES:
            print(f"unknown patch {name!r}: one of {', '.join(PATCHES)}", file=sys.stderr)
            return 2
        PATCHES[name]()
    from scoreboard.__main__ import main as scoreboard_main

    return scoreboard_main(argv)


if __name__ == "__main__":
    sys.exit(main())
