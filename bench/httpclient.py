"""The scorekeepers' side of the benchmark: a minimal keep-alive HTTP/1.1 client and the events.

Minimal for the same reason as `wsclient`: a general client would cost the load generator's
core more than the requests cost the server.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

PLAYER = "Lionel Andrés Messi Cuccittini"


class Http:
    """One keep-alive HTTP/1.1 connection; requests are sent one at a time on it.

    A failed request (refused, reset, cut short) leaves no connection behind: the next request
    opens a new one, to whichever process listens on the port by then.
    """

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {key}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            return await self._request(method, path, body)
        except BaseException:
            self.close()
            raise

    async def _request(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None and self.writer is not None
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
            self.close()
        return status, (json.loads(payload) if payload else None)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def goal(index: int, prefix: str) -> dict[str, Any]:
    """A realistic goal event (~200 bytes on the wire once the server adds seq, at, score);
    its `id` makes a retry idempotent."""
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
