"""The two notify stores side by side (SQLite and a real Redis): what the push limits count, a
renewed subscription surviving the 410 of its old endpoint, outbox expiry and endpoint updates."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from redis_server import RedisServer, require_redis
from scoreboard.notify.errors import SubscriptionsFull, TooManySubscriptions
from scoreboard.notify.models import PushSubscription, QueuedDelivery, WebhookEndpoint, new_id
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


async def test_an_outbox_drops_only_what_was_queued_before_the_cut(store: NotifyStore) -> None:
    """queue_expire pops the old head of an outbox and says which; the rest stays in order."""
    endpoint = WebhookEndpoint(id="e", url="https://hooks.example/in", secret="s")
    await store.put_endpoint(endpoint)
    await store.enqueue([QueuedDelivery("e", "m", seq, f"m:{seq}", "{}", first_at=float(seq)) for seq in range(1, 6)])
    expired = await store.queue_expire("e", before=3.5)
    assert expired.count == 3 and expired.first is not None and expired.last is not None
    assert (expired.first.seq, expired.last.seq) == (1, 3)
    head = await store.queue_head("e")
    assert head is not None and head.seq == 4 and await store.queue_length("e") == 2
    assert (await store.queue_expire("e", before=3.5)).count == 0


async def test_an_endpoint_update_applies_to_what_is_stored(store: NotifyStore) -> None:
    """update_endpoint changes the stored record (not a stale copy) and says when there is none."""
    await store.put_endpoint(WebhookEndpoint(id="e", url="https://hooks.example/in", secret="s"))
    await store.update_endpoint("e", lambda e: e.disabled("down"))
    updated = await store.update_endpoint("e", lambda e: replace(e, url="https://hooks.example/new"))
    assert updated is not None and updated.disabled_reason == "down" and updated.url.endswith("/new")
    assert await store.get_endpoint("e") == updated
    assert await store.update_endpoint("missing", lambda e: e) is None
