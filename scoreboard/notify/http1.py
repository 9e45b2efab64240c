"""A lean HTTP/1.1 client for push requests: keep-alive connections per origin on asyncio protocols.

Why not aiohttp's client (the webhooks still use it): a push is always one small POST whose
answer matters only for its status and Retry-After, 20,000 times per goal, and aiohttp spent
~130 µs of Python on each (request and response objects, multidicts, URL objects, payload
writers, timer contexts) where this spends ~30 µs: a third of the sender's CPU per push.

What it does: HTTP/1.1 over TCP or TLS (certificates verified), connections kept alive per
origin and reused (LIFO, idle ones closed after `keepalive` s), every address from the
outbound guard's resolver (so the guard still decides where a push may go, and a DNS answer
cannot change between check and connect), a total timeout per request. Answers are parsed by
llhttp (Node's parser, which aiohttp's C parser and uvicorn also use) through httptools, with
the leniencies aiohttp's client sets: framed by Content-Length, chunked coding or the end of
the connection (RFC 9112 §6.3), interim 1xx answers skipped, a head over MAX_HEAD refused, body
bytes dropped as they arrive (a push service's answer says all in its status). A request sent
on a reused connection that the server closed before answering a byte is sent once more on
a new one: a server may close an idle connection just as a request leaves, and a push that
arrives twice is replaced by its twin (same Topic) where one lost is lost.
What it does not: redirects (never followed), proxies, cookies, compression, HTTP/2.
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

import httptools

from .guard import GuardedResolver, OutboundRefused

MAX_HEAD = 64 * 1024  # an answer whose head (status line, headers) is not complete after this many bytes is refused
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
    """One connection: one request at a time, its answer parsed by llhttp as it arrives.

    The connection is also httptools' callback object; one parser lives as long as the
    connection, as llhttp expects a kept-alive connection's answers to follow one another."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Response] | None = None
        self._answered = False
        self._headers: dict[str, str] = {}
        self._head_done = False  # the current answer's head (status line and headers) is in
        self._head_bytes = 0  # bytes read while the current head was incomplete
        self._parser = httptools.HttpResponseParser(self)
        # aiohttp's client reads answers with these same leniencies (strict only in its dev
        # mode): obsolete line folding and stray whitespace are what real servers send, and
        # refusing them would fail pushes aiohttp delivered. Content-Length and Transfer-Encoding
        # rules (duplicates, both at once, bad digits) stay strict.
        self._parser.set_dangerous_leniencies(lenient_headers=True, lenient_optional_cr_before_lf=True,
                                              lenient_spaces_after_chunk_size=True)

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            self.close()  # bytes nobody asked for: the connection cannot be trusted again
            return
        self._answered = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            if self._waiter is None:
                self.close()  # bytes after a complete answer (on_message_begin refused them)
            else:
                self._fail(HttpProtocolError(f"not an HTTP/1.x answer this client reads: {exc!r}"))
            return
        if self._waiter is not None and not self._head_done:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                self._fail(HttpProtocolError(f"answer head longer than {MAX_HEAD} bytes"))

    def eof_received(self) -> bool | None:
        return False  # close the transport: a half-closed HTTP/1.1 connection is done

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._head_done and self._ends_with_connection():
            self._done()  # the end of the connection is the end of this body
            return
        self._waiter.set_exception(ConnectionClosed(
            f"the connection closed before the answer was complete{f': {exc}' if exc else ''}", self._answered))

    # -- httptools callbacks ------------------------------------------------------------------
    # No on_body: llhttp then skips body bytes in place, so a huge body is never held or copied.

    def on_message_begin(self) -> None:
        if self._waiter is None:
            raise HttpProtocolError("bytes after a complete answer")  # stops the parser

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._head_done = True
        self._head_bytes = 0

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:
            # An interim answer (RFC 9110 §15.2), which llhttp reports as a whole message:
            # the final one follows on the same connection.
            self._head_done = False
            self._headers = {}
            return
        self._done()

    # -- requests -----------------------------------------------------------------------------

    def send(self, request: bytes) -> asyncio.Future[Response]:
        assert self.transport is not None and self._waiter is None
        self._waiter = self._loop.create_future()
        self._answered = False
        self._headers = {}
        self._head_done = False
        self._head_bytes = 0
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
        response = Response(self._parser.get_status_code(), self._headers)
        self._headers = {}
        self._head_done = False
        if not self._parser.should_keep_alive():
            self.close()  # the server said it closes (or the body ran to the end of the connection)
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def _ends_with_connection(self) -> bool:
        """Whether the current answer's body runs to the end of the connection (RFC 9112 §6.3):
        neither Content-Length nor chunked coding. llhttp knows (llhttp_message_needs_eof), but
        httptools offers no call for the end of input (llhttp_finish), so EOF is read here."""
        coding = self._headers.get("transfer-encoding")
        if coding is not None:
            return not coding.lower().rstrip().endswith("chunked")
        return "content-length" not in self._headers


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
