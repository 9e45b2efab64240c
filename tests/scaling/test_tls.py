"""rediss:// to a Redis with a self-signed certificate, as hosted Redis offerings run it."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from redis_server import RedisServer, make_self_signed, require_redis

from .conftest import InstanceFactory


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[RedisServer]:
    require_redis()
    server = RedisServer(tmp_path / "redis-tls", tls=make_self_signed(tmp_path / "certs"))
    server.start()
    yield server
    server.stop()


async def test_tls_with_self_signed_certificate(tls_redis: RedisServer, make_instance: InstanceFactory) -> None:
    """redis_tls_insecure accepts the self-signed certificate; events flow between instances."""
    assert tls_redis.url.startswith("rediss://")
    a = await make_instance(tls_redis.url, redis_tls_insecure=True)
    b = await make_instance(tls_redis.url + "?ssl_cert_reqs=none")  # the URL form works too
    await a.create_match("secure")
    fan = await b.fan("secure")
    status, _, _ = await a.post("secure", {"type": "goal", "team": "home"})
    assert status == 201
    assert [f["seq"] for f in await fan.events(1)] == [2]  # after the kick-off
    assert (await b.request("GET", "/readyz"))[0] == 200


async def test_tls_verifies_certificates_by_default(tls_redis: RedisServer, make_instance: InstanceFactory) -> None:
    """Without the option the self-signed certificate is refused: not ready, writes 503."""
    strict = await make_instance(tls_redis.url)
    assert (await strict.request("GET", "/readyz"))[0] == 503
    status, body, headers = await strict.request("POST", "/api/matches", {"id": "x", "home": "A", "away": "B"})
    assert (status, body["error"]["code"], headers.get("Retry-After")) == (503, "store_unavailable", "1")
