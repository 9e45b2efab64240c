"""Which addresses the service may call: webhook URLs and push endpoints are URLs anyone can give.

Without a guard, `POST /api/webhooks {"url": "http://169.254.169.254/..."}` would make the
service fetch its cloud metadata, or a push subscription could point it at an admin port on
the private network (server-side request forgery). So an outbound URL must be `https`, and
every address its host resolves to must be globally routable: loopback, private, link-local
(which holds the metadata service), CGNAT, multicast, reserved and unspecified ranges are
refused, IPv4-mapped IPv6 included. `allow_private` (SCOREBOARD_OUTBOUND_ALLOW_PRIVATE) lifts
both rules, for tests and private deployments.

The check runs inside the HTTP client's resolver (`GuardedResolver`): aiohttp connects to
exactly the addresses that passed, so a DNS answer that changes between a check and the
connection (DNS rebinding) cannot slip a private address through. Redirects are never followed.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

from .errors import InvalidTarget

MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT = 5.0
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(Exception):
    """A URL or address the service will not call; the message says why, for the client."""


def address_refused(ip: IPAddress) -> str | None:
    """Why `ip` may not be called, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services live)"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved or not ip.is_global:
        return "not a public address"
    return None


class OutboundGuard:
    """Checks outbound URLs and the addresses they resolve to."""

    def __init__(self, allow_private: bool = False) -> None:
        self.allow_private = allow_private

    def check_url(self, url: str) -> str:
        """The URL's host, if its form may be called; raises OutboundRefused."""
        if len(url) > MAX_URL_LENGTH:
            raise OutboundRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise OutboundRefused("not a valid URL") from None
        schemes = ("https", "http") if self.allow_private else ("https",)
        if parts.scheme not in schemes:
            raise OutboundRefused("the URL must use https")
        if not parts.hostname:
            raise OutboundRefused("the URL has no host")
        if parts.username or parts.password:
            raise OutboundRefused("the URL must not carry a user name or password")
        if port == 0:
            raise OutboundRefused("the URL's port is not valid")
        host = parts.hostname
        if not self.allow_private:
            literal = _literal(host)
            if literal is not None:
                reason = address_refused(literal)
                if reason:
                    raise OutboundRefused(f"the URL's host is {reason}")
            elif host.rstrip(".").lower() == "localhost" or host.rstrip(".").lower().endswith(".localhost"):
                raise OutboundRefused("the URL's host is a loopback address")
        return host

    async def check(self, url: str) -> None:
        """The URL's form and every address its host resolves to; raises OutboundRefused."""
        host = self.check_url(url)
        if self.allow_private or _literal(host) is not None:
            return
        port = urlsplit(url).port or 443
        await self.resolve(host, port)

    async def resolve(self, host: str, port: int, family: int = socket.AF_UNSPEC) -> list[ResolveResult]:
        """Every address of `host`, if none of them is refused; raises OutboundRefused."""
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM),
                RESOLVE_TIMEOUT,
            )
        except (OSError, asyncio.TimeoutError):
            raise OutboundRefused(f"the host {host!r} does not resolve") from None
        results: list[ResolveResult] = []
        for fam, _, proto, _, sockaddr in infos:
            address = str(sockaddr[0])
            if not self.allow_private:
                # One refused address refuses the host: a name that also points inward is
                # exactly what a rebinding attacker publishes.
                reason = address_refused(ipaddress.ip_address(address.split("%", 1)[0]))
                if reason:
                    raise OutboundRefused(f"the host {host!r} resolves to {reason}")
            results.append(ResolveResult(
                hostname=host, host=address, port=int(sockaddr[1]), family=fam, proto=proto,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            ))
        if not results:
            raise OutboundRefused(f"the host {host!r} does not resolve")
        return results


async def check_target(guard: OutboundGuard, url: str, where: tuple[str, ...]) -> None:
    """`guard.check(url)` for a URL a client gave at `where` (its path in the request body):
    a refusal becomes InvalidTarget (422) naming that field and why."""
    try:
        await guard.check(url)
    except OutboundRefused as exc:
        fields: dict[str, Any] = {where[-1]: [str(exc)]}
        for name in reversed(where[:-1]):
            fields = {name: fields}
        raise InvalidTarget(f"{'.'.join(where)}: {exc}", fields) from None


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver with the guard's check: the client connects only to checked addresses."""

    def __init__(self, guard: OutboundGuard) -> None:
        self._guard = guard

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[ResolveResult]:
        literal = _literal(host)
        if literal is not None:
            reason = None if self._guard.allow_private else address_refused(literal)
            if reason:
                raise OutboundRefused(f"{host} is {reason}")
            return [ResolveResult(
                hostname=host, host=str(literal), port=port,
                family=socket.AF_INET6 if literal.version == 6 else socket.AF_INET, proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )]
        return await self._guard.resolve(host, port, family)

    async def close(self) -> None:
        return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
