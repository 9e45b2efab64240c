"""A site receiving Scoreboard webhooks, as the README tells one to: it checks every signature
(HMAC-SHA256 over "<t>.<raw body>", `t` within 5 minutes, any of the `v1`s) before it trusts a body."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from support import free_port


def signature_ok(secret: str, raw_body: bytes, header: str, tolerance: int = 300) -> bool:
    """The README's verification snippet."""
    pairs = [item.split("=", 1) for item in header.split(",") if "=" in item]
    t = next((value for name, value in pairs if name == "t"), "")
    if not t.isdigit() or abs(time.time() - int(t)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), t.encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    # After a secret rotation there is one v1 per secret in force: any may match.
    return any(hmac.compare_digest(expected, value) for name, value in pairs if name == "v1")


@dataclass
class Received:
    event_id: str
    body: dict[str, Any]
    at: float
    raw: bytes = b""
    signature: str = ""


class WebhookReceiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.secret = ""  # set from the 201 answer
        self.received: list[Received] = []
        self.bad_signatures = 0
        self.answers: list[int] = []  # statuses to answer with in turn; then 200
        self.always: int | None = None  # answer every request with this status
        self.delay = 0.0
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/scores"

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hooks/scores", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(predicate), timeout)

    def seqs(self, match_id: str) -> list[int]:
        return [r.body["seq"] for r in self.received if r.body["match_id"] == match_id]

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_ok(self.secret, body, request.headers.get("Scoreboard-Signature", "")):
            self.bad_signatures += 1
            return web.Response(status=400, text="bad signature")
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.answers.pop(0) if self.answers else self.always or 200
        if status < 300:
            async with self._arrived:
                self.received.append(Received(request.headers["Scoreboard-Event-Id"], json.loads(body), time.time(),
                                              body, request.headers["Scoreboard-Signature"]))
                self._arrived.notify_all()
        return web.Response(status=status)
