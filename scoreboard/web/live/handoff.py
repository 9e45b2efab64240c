"""Taking an upgraded socket from aiohttp: everything used of aiohttp beyond its documented API,
named here once and checked at start-up.

aiohttp has no public way to give a connection away after a handler (its own WebSocketResponse
stays inside it). What we lean on, all in `aiohttp.web_protocol.RequestHandler` (3.11-3.14):

- `set_parser(parser)`: how aiohttp's own WebSocketResponse takes the bytes its HTTP parser
  had read past the upgrade request (its message tail); our parser only catches them, for our
  protocol to read first. Without it, a client that sends its first message right behind the
  upgrade request would lose it.
- `transport` (an attribute of its `BaseProtocol`): set to None, so aiohttp can neither write
  to the socket nor close it once it is ours.
- `connection_lost(None)`, called by hand once the handler has returned: aiohttp stops counting
  the connection (its shutdown would otherwise wait for every fan).

`check_aiohttp()` (called by create_app) fails at start-up with one line naming what moved, and
tests/test_architecture.py fails on it too, so an aiohttp upgrade that breaks the hand-off is
caught before a fan is.
"""
from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

from aiohttp import __version__ as aiohttp_version
from aiohttp.base_protocol import BaseProtocol
from aiohttp.web_protocol import RequestHandler

# (owner, attribute, what we need of it): the whole private surface of the hand-off.
SURFACE: tuple[tuple[type, str, str], ...] = (
    (RequestHandler, "set_parser", "a method taking the parser that is fed the bytes past the request"),
    (BaseProtocol, "transport", "the attribute through which aiohttp writes to and closes the socket"),
    (RequestHandler, "connection_lost", "a method telling aiohttp the connection is gone"),
)


class AiohttpMoved(RuntimeError):
    """This aiohttp release lacks something the WebSocket hand-off needs."""


def missing() -> list[str]:
    """What of SURFACE this aiohttp lacks, one line each (empty when all is there)."""
    lost = []
    for owner, name, need in SURFACE:
        slots = {slot for klass in owner.__mro__ for slot in getattr(klass, "__slots__", ())}
        found = getattr(owner, name, None)
        if name == "set_parser":
            ok = callable(found) and len(inspect.signature(found).parameters) >= 2
        elif name == "transport":
            ok = name in slots
        else:
            ok = callable(found)
        if not ok:
            lost.append(f"{owner.__module__}.{owner.__qualname__}.{name}: {need}")
    return lost


def check_aiohttp() -> None:
    """Raise AiohttpMoved, naming what is gone, if this aiohttp cannot hand sockets over."""
    lost = missing()
    if lost:
        raise AiohttpMoved(
            f"aiohttp {aiohttp_version} moved what the WebSocket hand-off uses "
            f"(scoreboard/web/live/handoff.py): {'; '.join(lost)}"
        )


class _TailCatcher:
    """Stands in for aiohttp's WebSocket reader in `set_parser`: keeps what it is fed."""

    __slots__ = ("tail",)

    def __init__(self) -> None:
        self.tail = b""

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.tail += data
        return False, b""

    def feed_eof(self) -> None:
        """aiohttp's connection_lost ends its parser; nothing to end here."""


def hand_over(http: RequestHandler, transport: asyncio.Transport, protocol: asyncio.Protocol) -> bytes:
    """Give `transport` to `protocol`; returns the bytes aiohttp had read past the request, which
    `protocol` must be fed before anything read later (the caller does, once it is ready)."""
    catcher = _TailCatcher()
    http.set_parser(catcher)  # type: ignore[arg-type]  # feeds the tail now, synchronously
    # From here on every byte read goes to our protocol, and aiohttp can neither write to the
    # socket nor close it: its protocol object only has `transport` to reach it.
    transport.set_protocol(protocol)
    http.transport = None
    transport.resume_reading()  # in case aiohttp had paused it for its own buffering
    return catcher.tail


def release_later(http: RequestHandler) -> Callable[[], None]:
    """What tells aiohttp, once it has finished with the request, that its connection is gone."""

    def release() -> None:
        asyncio.get_running_loop().call_soon(http.connection_lost, None)

    return release
