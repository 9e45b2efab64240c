"""The two notify stores side by side (SQLite and a real Redis): what the push limits count, and
a renewed subscription surviving the 410 of its old endpoint."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from redis_server import RedisServer, require_redis
from scoreboard.notify.errors import SubscriptionsFull, TooManySubscriptions
from scoreboard.notify.models import PushSubscription, new_id
from scoreboard.notify.store.base import NotifyStore, SubscriptionCaps
from scoreboard.notify.store.redis import RedisNotifyStore
from scoreboard.notify.store.sqlite import SqliteNotifyStore


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[NotifyStore]:
    redis: RedisServer | None = None
    made: NotifyStore
    if request.param == "sqlite":
        made = SqliteNotifyStore(str(tmp_path / "n.notify.db"))
    else:
        require_redis()
        redis = RedisServer(tmp_path / "redis")
        redis.start()
        made = RedisNotifyStore(redis.url, prefix="stores:")
    await made.open()
    yield made
    await made.close()
    if redis is not None:
        redis.stop()


def subscription(endpoint: str, client: str = "c1") -> PushSubscription:
    return PushSubscription(id=new_id(), endpoint=f"https://push.example/{endpoint}", p256dh="k", auth="a",
                            token_hash="h", matches=frozenset({"m"}), client=client)


async def test_a_renewed_subscription_outlives_the_410_of_its_old_endpoint(store: NotifyStore) -> None:
    """The push to the old endpoint answers 410 after the browser renewed it: the subscription stays."""
    old = subscription("old")
    await store.put_subscription(old)
    renewed = replace(old, endpoint="https://push.example/new")
    await store.put_subscription(renewed)
    assert await store.delete_gone([(old.id, old.endpoint)]) == 0
    assert await store.get_subscription(old.id) == renewed
    assert [s.id for s in await store.subscriptions_for("m", "A", "B", False, "goal")] == [old.id]
    assert await store.delete_gone([(old.id, renewed.endpoint)]) == 1
    assert await store.get_subscription(old.id) is None
    assert await store.count_for_client("c1") == 0


async def test_caps_count_what_exists_and_replacing_takes_no_place(store: NotifyStore) -> None:
    """Per client and in all, counted through replacements and deletions; a replacement is never refused."""
    caps = SubscriptionCaps(total=3, per_client=2)
    first, second = subscription("a"), subscription("b")
    await store.put_subscription(first, caps)
    await store.put_subscription(second, caps)
    with pytest.raises(TooManySubscriptions):
        await store.put_subscription(subscription("c"), caps)
    same_browser = subscription("a")  # the browser of `first` subscribing again: replaces it
    await store.put_subscription(same_browser, caps)
    assert await store.get_subscription(first.id) is None
    assert await store.count_for_client("c1") == 2
    await store.put_subscription(subscription("x", client="c2"), caps)
    with pytest.raises(SubscriptionsFull):
        await store.put_subscription(subscription("y", client="c3"), caps)
    await store.delete_subscriptions([second.id])
    assert await store.count_for_client("c1") == 1 and await store.count_subscriptions() == 2
    await store.put_subscription(subscription("c"), caps)
