"""A lean HTTP/1.1 client for push requests: keep-alive connections per origin on asyncio protocols.

Why not aiohttp's client (the webhooks still use it): a push is always one small POST whose
answer matters only for its status and Retry-After, 20,000 times per goal, and aiohttp spent
~130 µs of Python on each (request and response objects, multidicts, URL objects, payload
writers, timer contexts) where this spends ~30 µs: a third of the sender's CPU per push.

What it does: HTTP/1.1 over TCP or TLS (certificates verified), connections kept alive per
origin and reused (LIFO, idle ones closed after `keepalive` s), every address from the
outbound guard's resolver (so the guard still decides where a push may go, and a DNS answer
cannot change between check and connect), a total timeout per request, responses framed by
Content-Length, chunked coding or the end of the connection (RFC 9112 §6.3). A request sent
on a reused connection that the server closed before answering a byte is sent once more on
a new one: a server may close an idle connection just as a request leaves, and a push that
arrives twice is replaced by its twin (same Topic) where one lost is lost.
What it does not: redirects (never followed), proxies, cookies, compression, HTTP/2. The
response body is read and dropped: a push service's answer says all in its status.
"""
from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast
from urllib.parse import quote, urlsplit

from .guard import GuardedResolver, OutboundRefused

MAX_HEAD = 64 * 1024  # bytes of status line and headers before the answer is refused
DNS_CACHE_SECONDS = 300.0  # how long checked addresses of a host are reused (aiohttp's ttl_dns_cache here)
KEEPALIVE = 15.0  # seconds an idle connection is kept (aiohttp's default)
# Anything outside visible ASCII in a request target is percent-encoded: a CR or LF in an
# endpoint URL must never become a header of ours.
_UNSAFE_TARGET = re.compile(r"[^\x21-\x7e]")
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"


class HttpProtocolError(Exception):
    """An answer that is not HTTP/1.x, or one this client will not read."""


class ConnectionClosed(ConnectionError):
    """The server closed the connection before its answer was complete."""

    def __init__(self, message: str, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered  # a byte of the answer had arrived


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value


@dataclass(frozen=True)
class Endpoint:
    """A URL split for sending: where to connect and what to put on the request line."""

    scheme: str
    host: str
    port: int
    netloc: str  # the Host header
    target: str  # path and query, percent-encoded

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.netloc}"


def split_url(url: str) -> Endpoint:
    """Raises OutboundRefused for a URL this client cannot call (scheme, user info, port)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("the URL must be http or https with a host")
    if "@" in parts.netloc:
        raise OutboundRefused("the URL must not carry a user name or password")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if _UNSAFE_TARGET.search(target):
        target = quote(target, safe=_TARGET_SAFE)
    host, netloc = parts.hostname, parts.netloc
    if not netloc.isascii():  # an internationalised name goes out in its ASCII form (IDNA)
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise OutboundRefused("the URL's host is not a valid name") from None
        netloc = host if port is None else f"{host}:{port}"
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return Endpoint(parts.scheme, host, port, netloc, target)


class _Connection(asyncio.Protocol):
    """One connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Response] | None = None
        self._buffer = bytearray()
        self._answered = False
        self._response: Response | None = None
        self._keep_alive = False
        self._body: str = ""  # "", "length", "chunked", "close": how the body ends
        self._left = 0  # body bytes still to come ("length"), or of the current chunk
        self._chunk_state = "size"  # "size", "data", "end" (its CRLF), "trailers"

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            self.close()  # bytes nobody asked for: the connection cannot be trusted again
            return
        self._answered = True
        self._buffer += data
        try:
            self._parse()
        except HttpProtocolError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        return False  # close the transport: a half-closed HTTP/1.1 connection is done

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._response is not None and self._body == "close":
            self._done()  # the end of the connection is the end of this body
            return
        self._waiter.set_exception(ConnectionClosed(
            f"the connection closed before the answer was complete{f': {exc}' if exc else ''}", self._answered))

    # -- requests -----------------------------------------------------------------------------

    def send(self, request: bytes) -> asyncio.Future[Response]:
        assert self.transport is not None and self._waiter is None
        self._waiter = self._loop.create_future()
        self._answered = False
        self._response = None
        self._body = ""
        self.transport.write(request)
        return self._waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _done(self) -> None:
        waiter, self._waiter = self._waiter, None
        response, self._response = self._response, None
        if self._buffer or not self._keep_alive:
            self.close()  # more than the answer arrived, or the server said it closes
        if waiter is not None and not waiter.done() and response is not None:
            waiter.set_result(response)

    # -- parsing ------------------------------------------------------------------------------

    def _parse(self) -> None:
        while self._waiter is not None:
            if self._response is None:
                if not self._parse_head():
                    return
            elif self._body == "length":
                if len(self._buffer) < self._left:
                    self._left -= len(self._buffer)
                    self._buffer.clear()
                    return
                del self._buffer[:self._left]
                self._done()
            elif self._body == "chunked":
                if not self._parse_chunks():
                    return
                self._done()
            else:  # "close": everything until the end of the connection is body
                self._buffer.clear()
                return

    def _parse_head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                raise HttpProtocolError(f"answer head longer than {MAX_HEAD} bytes")
            return False
        lines = self._buffer[:end].decode("latin-1").split("\r\n")
        del self._buffer[:end + 4]
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit() or rest[3:4] not in ("", " "):
            raise HttpProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(code)
        if 100 <= status < 200:
            return True  # an interim answer (RFC 9110 §15.2): the final one follows
        headers: dict[str, str] = {}
        name = ""
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and name:  # obsolete line folding: one space (RFC 9112 §5.2)
                headers[name] += " " + line.strip()
                continue
            name, colon, value = line.partition(":")
            name = name.strip().lower()
            if not colon or not name:
                raise HttpProtocolError(f"malformed header line: {line[:80]!r}")
            headers[name] = value.strip()
        connection = headers.get("connection", "").lower()
        self._keep_alive = version == "HTTP/1.1" and "close" not in connection
        self._response = Response(status, headers)
        if status in (204, 304):
            self._body, self._left = "length", 0
        elif "transfer-encoding" in headers:
            if not headers["transfer-encoding"].lower().rstrip().endswith("chunked"):
                self._body, self._keep_alive = "close", False
            else:
                self._body, self._chunk_state = "chunked", "size"
        elif "content-length" in headers:
            length = headers["content-length"]
            if not length.isdigit():
                raise HttpProtocolError(f"bad Content-Length {length[:40]!r}")
            self._body, self._left = "length", int(length)
        else:
            self._body, self._keep_alive = "close", False
        return True

    def _parse_chunks(self) -> bool:
        """True once the last chunk and the trailers are in."""
        while True:
            if self._chunk_state == "size":
                end = self._buffer.find(b"\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEAD:
                        raise HttpProtocolError("chunk size line too long")
                    return False
                size = bytes(self._buffer[:end]).split(b";", 1)[0].strip()
                del self._buffer[:end + 2]
                try:
                    self._left = int(size, 16)
                except ValueError:
                    raise HttpProtocolError(f"bad chunk size {size[:20]!r}") from None
                self._chunk_state = "data" if self._left else "trailers"
            elif self._chunk_state == "data":  # dropped as it comes: a huge chunk is never held
                taken = min(len(self._buffer), self._left)
                del self._buffer[:taken]
                self._left -= taken
                if self._left:
                    return False
                self._chunk_state = "end"
            elif self._chunk_state == "end":
                if len(self._buffer) < 2:
                    return False
                if self._buffer[:2] != b"\r\n":
                    raise HttpProtocolError("chunk not followed by CRLF")
                del self._buffer[:2]
                self._chunk_state = "size"
            else:  # trailer fields, then an empty line
                if self._buffer[:2] == b"\r\n":
                    del self._buffer[:2]
                    return True
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEAD:
                        raise HttpProtocolError("trailers too long")
                    return False
                del self._buffer[:end + 4]
                return True


class HttpClient:
    """POSTs with connections kept per origin; at most `max_idle` idle ones per origin."""

    def __init__(self, resolver: GuardedResolver, *, max_idle: int = 64, keepalive: float = KEEPALIVE,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._resolver = resolver
        self._max_idle = max_idle
        self._keepalive = keepalive
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}  # origin -> idle, newest last
        self._busy: set[_Connection] = set()
        self._addresses: dict[tuple[str, int], tuple[float, list[dict[str, object]]]] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False

    async def post(self, endpoint: Endpoint, headers: Iterable[tuple[str, str]], body: bytes,
                   timeout: float) -> Response:
        """The answer to one POST. Raises OutboundRefused (the guard said no), TimeoutError,
        OSError (cannot connect, connection lost) or HttpProtocolError."""
        lines = [f"POST {endpoint.target} HTTP/1.1\r\nHost: {endpoint.netloc}\r\n"]
        for name, value in headers:
            if "\r" in value or "\n" in value:
                raise ValueError(f"header {name} holds a line break")
            lines.append(f"{name}: {value}\r\n")
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        request = "".join(lines).encode("latin-1") + body
        async with asyncio.timeout(timeout):
            for attempt in (1, 2):
                connection = await self._acquire(endpoint, fresh=attempt == 2)
                self._busy.add(connection)
                try:
                    response = await connection.send(request)
                except ConnectionClosed as exc:
                    if attempt == 1 and connection.reused and not exc.answered:
                        continue  # most likely closed as it idled, unread: once more, on a new connection
                    raise
                except BaseException:
                    connection.abort()  # timed out or cancelled mid-answer: unusable
                    raise
                finally:
                    self._busy.discard(connection)
                self._release(endpoint, connection)
                return response
        raise AssertionError("unreachable")

    async def close(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        for connection in list(self._busy):
            connection.abort()

    async def _acquire(self, endpoint: Endpoint, fresh: bool = False) -> _Connection:
        idle = None if fresh else self._idle.get((endpoint.scheme, endpoint.host, endpoint.port))
        while idle:
            connection = idle.pop()
            if not connection.closed:
                connection.reused = True
                return connection
        return await self._connect(endpoint)

    def _release(self, endpoint: Endpoint, connection: _Connection) -> None:
        if connection.closed:
            return
        if self._closed:
            connection.close()
            return
        idle = self._idle.setdefault((endpoint.scheme, endpoint.host, endpoint.port), [])
        connection.idle_since = time.monotonic()
        idle.append(connection)
        if len(idle) > self._max_idle:
            idle.pop(0).close()
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self._keepalive, self._sweep)

    def _sweep(self) -> None:
        """Closes connections idle for `keepalive` s; runs while any connection idles."""
        self._sweeper = None
        horizon = time.monotonic() - self._keepalive
        for origin, idle in list(self._idle.items()):
            keep = [c for c in idle if not c.closed and c.idle_since > horizon]
            for connection in idle:
                if connection not in keep:
                    connection.close()
            if keep:
                self._idle[origin] = keep
            else:
                del self._idle[origin]
        if self._idle and not self._closed:
            self._sweeper = asyncio.get_running_loop().call_later(self._keepalive, self._sweep)

    async def _connect(self, endpoint: Endpoint) -> _Connection:
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if endpoint.scheme == "https":
            tls = self._ssl or _default_context()
        error: OSError | None = None
        for address in await self._resolve(endpoint.host, endpoint.port):
            try:
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop), host=str(address["host"]), port=int(str(address["port"])),
                    family=int(str(address["family"])), ssl=tls, server_hostname=endpoint.host if tls else None,
                )
            except OSError as exc:
                error = exc
                continue
            return connection
        assert error is not None
        raise error

    async def _resolve(self, host: str, port: int) -> list[dict[str, object]]:
        """The guard-checked addresses of host, cached for DNS_CACHE_SECONDS."""
        now = time.monotonic()
        cached = self._addresses.get((host, port))
        if cached is not None and now - cached[0] < DNS_CACHE_SECONDS:
            return cached[1]
        results = [dict(r) for r in await self._resolver.resolve(host, port, socket.AF_UNSPEC)]
        self._addresses[(host, port)] = (now, results)
        return results


_context: ssl.SSLContext | None = None


def _default_context() -> ssl.SSLContext:
    """One verifying TLS context for every connection (making one loads the CA store: ~ms)."""
    global _context
    if _context is None:
        _context = ssl.create_default_context()
    return _context
