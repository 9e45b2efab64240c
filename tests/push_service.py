"""A local stand-in for a browser vendor's push service (RFC 8030/8291/8292), and browsers.

It does what FCM or Mozilla's autopush do with a request, strictly: the VAPID JWT must be
ES256-signed by the key in `k` (the server's published key), `aud` the endpoint's origin and
`exp` in the future but at most 24 h ahead; TTL must be present; the body must be aes128gcm.
It decrypts each body with the subscription's private key through `http_ece` (Mozilla's
implementation, independent of ours) and records it. Each browser can be scripted to answer
with other statuses (410, 429 + Retry-After, 500) to exercise the sender.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from support import free_port


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One browser's push subscription: a real P-256 key pair and auth secret, as a browser makes."""

    name: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))
    answers: list[int] = field(default_factory=list)  # statuses to answer with, in turn; then 201
    retry_after: str | None = None

    def subscription(self) -> dict[str, Any]:
        """The JSON of PushSubscription.toJSON()."""
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}


@dataclass
class Delivery:
    browser: str
    message: dict[str, Any]
    headers: dict[str, str]
    at: float


class PushService:
    """Run with `await start()` in the test's loop; `url` is its origin."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port()
        self.browsers: dict[str, Browser] = {}
        self.deliveries: list[Delivery] = []
        self.rejected: list[str] = []  # requests that broke the protocol: must stay empty
        self.requests = 0
        self.server_key: str | None = None  # the key the server published at /api/push/key
        self.decrypt = True
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def browser(self, name: str) -> Browser:
        browser = Browser(name, f"{self.url}/push/{name}")
        self.browsers[name] = browser
        return browser

    async def start(self) -> PushService:
        app = web.Application()
        app.router.add_post("/push/{name}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def for_browser(self, name: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.browser == name]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(predicate), timeout)

    async def _receive(self, request: web.Request) -> web.Response:
        self.requests += 1
        name = request.match_info["name"]
        browser = self.browsers.get(name)
        if browser is None:
            return web.Response(status=404)
        body = await request.read()
        problem = self._check(request, body)
        if problem:
            self.rejected.append(f"{name}: {problem}")
            return web.json_response({"error": problem}, status=400)
        if browser.answers:
            status = browser.answers.pop(0)
            headers = {"Retry-After": browser.retry_after} if browser.retry_after and status == 429 else {}
            return web.Response(status=status, headers=headers)
        message: dict[str, Any] = {}
        if self.decrypt:
            try:
                plain = http_ece.decrypt(body, private_key=browser.private_key, auth_secret=browser.auth,
                                         version="aes128gcm")
                message = json.loads(plain)
            except Exception as exc:  # any failure to decrypt is a protocol violation
                self.rejected.append(f"{name}: cannot decrypt: {exc!r}")
                return web.Response(status=400)
        headers = {k: request.headers[k] for k in ("TTL", "Urgency", "Topic") if k in request.headers}
        async with self._arrived:
            self.deliveries.append(Delivery(name, message, headers, time.time()))
            self._arrived.notify_all()
        return web.Response(status=201)

    def _check(self, request: web.Request, body: bytes) -> str | None:
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return "Content-Encoding must be aes128gcm"
        if not request.headers.get("TTL", "").isdigit():
            return "TTL header missing"
        if len(body) > 4096:
            return "body over 4096 bytes"
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        if scheme != "vapid":
            return "Authorization must be vapid t=..., k=..."
        values = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        token, key = values.get("t"), values.get("k")
        if not token or not key:
            return "vapid needs t and k"
        if self.server_key is not None and key != self.server_key:
            return "k is not the key the subscription was made with"
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
            claims = jwt.decode(token, public, algorithms=["ES256"], audience=self.url,
                                options={"require": ["exp", "aud"]})
        except (ValueError, jwt.InvalidTokenError) as exc:
            return f"bad VAPID JWT: {exc}"
        if claims["exp"] > time.time() + 24 * 3600:
            return "exp more than 24 h ahead"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            return "sub must be mailto: or https:"
        return None
