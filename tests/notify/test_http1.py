"""The push sender's HTTP/1.1 client against real sockets: scripted servers that answer byte for
byte what a push service (or a broken one) might send."""
from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from redis_server import make_self_signed
from scoreboard.notify.guard import GuardedResolver, OutboundGuard, OutboundRefused
from scoreboard.notify.http1 import MAX_HEAD, ConnectionClosed, HttpClient, HttpProtocolError, split_url

CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
HEADERS = (("TTL", "60"), ("Urgency", "high"))

# An answer for the n-th request on the c-th connection (both from 0); None: close without one.
Script = Callable[[int, int], "bytes | None"]


class ScriptedServer:
    """Reads each request whole (head + Content-Length body), records it, answers per script;
    closes the connection after an answer that says so or has no length (as servers do)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.closed_by_client = 0
        self.requests: list[tuple[int, bytes, bytes]] = []  # (connection, head, body)
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, tls: ssl.SSLContext | None = None) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    def url(self, path: str = "/push/1", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = self.connections
        self.connections += 1
        try:
            for n in range(1000):
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    self.closed_by_client += 1
                    return
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                body = await reader.readexactly(length)
                self.requests.append((connection, head, body))
                answer = self.script(connection, n)
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
                if (b"Connection: close" in answer or answer.startswith(b"HTTP/1.0")
                        or not (b"Content-Length" in answer or b"Transfer-Encoding" in answer)):
                    return
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Script], asyncio.Future[ScriptedServer]]]:
    servers: list[ScriptedServer] = []

    def start(script: Script) -> asyncio.Future[ScriptedServer]:
        server = ScriptedServer(script)
        servers.append(server)
        return asyncio.ensure_future(server.start())

    yield start
    for server in servers:
        await server.stop()


def client(**options: object) -> HttpClient:
    return HttpClient(GuardedResolver(OutboundGuard(allow_private=True)), **options)  # type: ignore[arg-type]


async def test_one_connection_is_kept_alive_for_every_request_to_an_origin(serve: Callable) -> None:
    """Five POSTs, one connection; each request carries Host, our headers, Content-Length and the body."""
    server = await serve(lambda c, n: CREATED)
    http = client()
    for n in range(5):
        response = await http.post(split_url(server.url(f"/push/{n}?x=1")), HEADERS, b"body-%d" % n, 5)
        assert response.status == 201
    await http.close()
    assert server.connections == 1
    connection, head, body = server.requests[4]
    assert head.startswith(b"POST /push/4?x=1 HTTP/1.1\r\n") and body == b"body-4"
    assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in head
    assert b"TTL: 60\r\nUrgency: high\r\nContent-Length: 6\r\n" in head


async def test_chunked_length_and_close_framed_answers_are_read_whole(serve: Callable) -> None:
    """A chunked answer (extension, trailer) and a sized one keep the connection; one ended by close does not."""
    answers = [
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"error\":\"bad\"}",
        b"HTTP/1.1 410 Gone\r\nX-Note: folded\r\n  on two lines\r\n\r\nno length: the body ends with the connection",
        CREATED,
    ]
    server = await serve(lambda c, n: answers[len(server.requests) - 1])
    http = client()
    statuses = [(await http.post(split_url(server.url()), HEADERS, b"x", 5)).status for _ in answers]
    await http.close()
    assert statuses == [201, 400, 410, 201]
    assert [c for c, _, _ in server.requests] == [0, 0, 0, 1]


async def test_a_large_chunked_answer_is_read_in_pieces(serve: Callable) -> None:
    """A 1 MB chunk arriving over many reads ends the answer where it should; the connection is reused."""
    big = b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n" + b"x" * 0x100000 + b"\r\n0\r\n\r\n"
    server = await serve(lambda c, n: big if n == 0 else CREATED)
    http = client()
    assert (await http.post(split_url(server.url()), HEADERS, b"x", 5)).status == 500
    assert (await http.post(split_url(server.url()), HEADERS, b"x", 5)).status == 201
    await http.close()
    assert server.connections == 1


async def test_interim_answers_are_skipped_and_retry_after_is_read(serve: Callable) -> None:
    """A 100 Continue before the final 429 is skipped; the 429's Retry-After is there."""
    server = await serve(lambda c, n: b"HTTP/1.1 100 Continue\r\n\r\n"
                                      b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n")
    http = client()
    response = await http.post(split_url(server.url()), HEADERS, b"x", 5)
    await http.close()
    assert (response.status, response.headers["retry-after"]) == (429, "7")


async def test_connection_close_in_the_answer_is_honoured(serve: Callable) -> None:
    """`Connection: close` or HTTP/1.0: the next request goes on a new connection."""
    answers = [b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
               b"HTTP/1.0 201 Created\r\nContent-Length: 0\r\n\r\n", CREATED, CREATED]
    server = await serve(lambda c, n: answers[len(server.requests) - 1])
    http = client()
    for _ in answers:
        assert (await http.post(split_url(server.url()), HEADERS, b"x", 5)).status == 201
    await http.close()
    assert [c for c, _, _ in server.requests] == [0, 1, 2, 2]


async def test_a_kept_connection_closed_before_answering_is_tried_once_more(serve: Callable) -> None:
    """The server drops a kept-alive connection as the next request arrives: it goes again, on a new one."""
    server = await serve(lambda c, n: None if (c, n) == (0, 1) else CREATED)
    http = client()
    assert (await http.post(split_url(server.url()), HEADERS, b"first", 5)).status == 201
    assert (await http.post(split_url(server.url()), HEADERS, b"second", 5)).status == 201
    await http.close()
    assert [(c, body) for c, _, body in server.requests] == [(0, b"first"), (0, b"second"), (1, b"second")]


async def test_a_new_connection_closed_before_answering_is_an_error(serve: Callable) -> None:
    """No second try on a fresh connection: the push service saw the request and said nothing."""
    server = await serve(lambda c, n: None)
    http = client()
    with pytest.raises(ConnectionClosed):
        await http.post(split_url(server.url()), HEADERS, b"x", 5)
    await http.close()
    assert server.connections == 1


async def test_a_slow_answer_times_out_and_its_connection_is_not_reused(serve: Callable) -> None:
    """No answer within the timeout: TimeoutError, and the next request opens a new connection."""
    server = await serve(lambda c, n: b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n" if c == 0 else CREATED)  # head never ends
    http = client()
    with pytest.raises(TimeoutError):
        await http.post(split_url(server.url()), HEADERS, b"x", 0.3)
    assert (await http.post(split_url(server.url()), HEADERS, b"x", 5)).status == 201
    await http.close()
    assert server.connections == 2


async def test_an_answer_that_is_not_http_is_a_protocol_error(serve: Callable) -> None:
    """A status line that is not HTTP/1.x fails the request instead of guessing."""
    server = await serve(lambda c, n: b"220 smtp.example ESMTP\r\n\r\n")
    http = client()
    with pytest.raises(HttpProtocolError):
        await http.post(split_url(server.url()), HEADERS, b"x", 5)
    await http.close()


async def test_a_head_longer_than_max_head_is_refused(serve: Callable) -> None:
    """A header that never ends is refused once 64 KiB have come, not held until the timeout."""
    server = await serve(lambda c, n: b"HTTP/1.1 201 Created\r\nX-Big: " + b"a" * (MAX_HEAD + 4096))
    http = client()
    with pytest.raises(HttpProtocolError):
        await http.post(split_url(server.url()), HEADERS, b"x", 5)
    await http.close()


async def test_bytes_after_an_answer_end_its_connection(serve: Callable) -> None:
    """A second answer nobody asked for is not taken as the next request's: that one goes on a new connection."""
    server = await serve(lambda c, n: CREATED + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" if n == 0 else CREATED)
    http = client()
    statuses = [(await http.post(split_url(server.url()), HEADERS, b"x", 5)).status for _ in range(2)]
    await http.close()
    assert statuses == [201, 201]
    assert [c for c, _, _ in server.requests] == [0, 1]


async def test_a_body_cut_short_by_the_close_is_an_error(serve: Callable) -> None:
    """Content-Length promises 10 bytes, 3 come before the close: ConnectionClosed, after an answered byte."""
    server = await serve(lambda c, n: b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc")
    http = client()
    with pytest.raises(ConnectionClosed) as closed:
        await http.post(split_url(server.url()), HEADERS, b"x", 5)
    await http.close()
    assert closed.value.answered and server.connections == 1


async def test_idle_connections_are_closed_after_the_keepalive(serve: Callable) -> None:
    """An idle kept connection is closed by the client after `keepalive` seconds."""
    server = await serve(lambda c, n: CREATED)
    http = client(keepalive=0.2)
    await http.post(split_url(server.url()), HEADERS, b"x", 5)
    for _ in range(40):
        if server.closed_by_client:
            break
        await asyncio.sleep(0.05)
    assert server.closed_by_client == 1
    await http.close()


async def test_a_url_cannot_add_headers_or_lines_to_the_request(serve: Callable) -> None:
    """CR and LF in an endpoint's path are dropped, spaces percent-encoded; a header value with a line break is refused."""
    server = await serve(lambda c, n: CREATED)
    http = client()
    await http.post(split_url(server.url("/push/a b\r\nX-Evil: 1")), HEADERS, b"x", 5)
    with pytest.raises(ValueError):
        await http.post(split_url(server.url()), (("Topic", "a\r\nX-Evil: 1"),), b"x", 5)
    await http.close()
    (_, head, _), = server.requests
    request_line, *header_lines = head.split(b"\r\n")
    assert request_line.startswith(b"POST /push/a%20b") and len(request_line.split(b" ")) == 3
    assert not any(line.startswith(b"X-Evil") for line in header_lines)
    with pytest.raises(OutboundRefused):
        split_url("http://user:pass@example.com/x")
    assert split_url("https://bücher.example:8443/ä").netloc == "xn--bcher-kva.example:8443"
    assert split_url("https://bücher.example:8443/ä").target == "/%C3%A4"


async def test_the_guard_refuses_before_any_connection(serve: Callable) -> None:
    """With private addresses refused, a push to 127.0.0.1 fails and the server never sees a connection."""
    server = await serve(lambda c, n: CREATED)
    http = HttpClient(GuardedResolver(OutboundGuard(allow_private=False)))
    with pytest.raises(OutboundRefused):
        await http.post(split_url(server.url()), HEADERS, b"x", 5)
    await http.close()
    assert server.connections == 0


async def test_https_verifies_the_certificate(tmp_path: Path) -> None:
    """TLS to a server whose certificate we trust works (and is kept alive); one we do not trust is refused."""
    certs = make_self_signed(tmp_path / "certs")
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(certs.cert, certs.key)
    server = await ScriptedServer(lambda c, n: CREATED).start(tls=served)
    trusting = client(ssl_context=ssl.create_default_context(cafile=str(certs.ca)))
    for _ in range(2):
        assert (await trusting.post(split_url(server.url(scheme="https")), HEADERS, b"x", 5)).status == 201
    await trusting.close()
    assert server.connections == 1
    with pytest.raises(ssl.SSLCertVerificationError):
        await client().post(split_url(server.url(scheme="https")), HEADERS, b"x", 5)
    await server.stop()
