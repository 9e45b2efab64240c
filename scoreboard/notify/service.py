"""NotifyService: what the web edge calls for push subscriptions (and, as `.webhooks`, for
webhook endpoints: endpoints.py), and the lifetime of the notifier (store, VAPID key, sender,
feed, webhook deliverer).

It knows nothing of HTTP: handlers pass validated data in and get models back; failures are
the exceptions of notify/errors.py.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from redis.exceptions import RedisError

from ..bridge.redis import backoff_delay
from ..settings import Settings
from ..store.base import EventStore
from .endpoints import WebhookEndpoints
from .errors import InvalidTarget, MissingToken, NotFound, NotifyUnavailable, WrongToken, guarded
from .feed import Feed, SqliteFeed
from .guard import OutboundGuard, check_target
from .models import PushSubscription, new_id, new_token, token_hash
from .notifier import Notifier
from .pool import PushTransport, make_transport
from .store import make_notify_store
from .store.base import NotifyStore, SubscriptionCaps
from .vapid import DEFAULT_SUBJECT, Vapid, generate_pem
from .webhooks import WebhookDeliverer
from .webpush import InvalidSubscriptionKey, check_keys
from .wire import SenderConfig

log = logging.getLogger(__name__)
SUBSCRIPTION_TOKEN_PREFIX = "pst"


class NotifyService:
    def __init__(self, settings: Settings, events: EventStore,
                 on_push: Callable[[str, int], None] | None = None) -> None:
        self.settings = settings
        self.store: NotifyStore = make_notify_store(settings)
        self.guard = OutboundGuard(settings.outbound_allow_private)
        self.deliverer = WebhookDeliverer(self.store, self.guard, settings.webhook_max_age, settings.webhook_timeout)
        self.webhooks = WebhookEndpoints(self.store, self.guard, self.deliverer, self._endpoints_changed)
        self.feed: Feed = self._make_feed(events)
        self._events = events
        self._on_push = on_push
        self.vapid: Vapid | None = None
        self.transport: PushTransport | None = None
        self.notifier: Notifier | None = None
        self.caps = SubscriptionCaps(total=settings.push_max_subscriptions, per_client=settings.push_max_per_client)
        self._client_key = b""  # keys the client-address hashes; made from the VAPID key (stable, secret)
        self._task: asyncio.Task[None] | None = None

    def _make_feed(self, events: EventStore) -> Feed:
        if self.settings.redis_url:
            from .feed_redis import RedisFeed
            from .store.redis import RedisNotifyStore

            assert isinstance(self.store, RedisNotifyStore)
            return RedisFeed(self.store, self.settings.redis_prefix + "stream")
        from .store.sqlite import SqliteNotifyStore

        assert isinstance(self.store, SqliteNotifyStore)
        return SqliteFeed(events, self.store)

    # -- lifetime ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store, load the key, prepare the feed before the server serves.

        With Redis down at start this only logs: like the event store, the service starts
        degraded, and the notifier sets itself up in the background once Redis answers.
        """
        await self.store.open()
        try:
            await self._set_up()
        except (RedisError, OSError) as exc:
            if not self.settings.redis_url:
                raise
            log.warning("notifications wait for Redis (%s); they start when it answers", exc)
        self._task = asyncio.create_task(self._run(), name="notifier")

    async def _set_up(self) -> None:
        self.vapid = await self._load_vapid()
        self._client_key = hashlib.sha256(b"scoreboard push client address\0" + self._vapid_pem.encode()).digest()
        config = SenderConfig(
            vapid_key=self._vapid_pem, vapid_subject=self.vapid.subject,
            allow_private=self.settings.outbound_allow_private, concurrency=self.settings.push_concurrency,
            log_level=self.settings.log_level, log_format=self.settings.log_format, nice=self.settings.push_nice,
        )
        transport = make_transport(config, self.settings.push_processes)
        await transport.start()
        self.transport = transport
        self.notifier = Notifier(self.store, self._events, transport, self.deliverer,
                                 self.settings.push_ttl, self._on_push)
        await self.feed.prepare()
        if await self.store.count_subscriptions():
            # A sender process takes ~0.5 s to start: not on the first goal's time.
            transport.warm()

    async def _run(self) -> None:
        failures = 0
        while self.notifier is None:  # only in Redis mode, when Redis was down at start
            await asyncio.sleep(backoff_delay(failures))
            failures += 1
            try:
                await self._set_up()
            except (RedisError, OSError) as exc:
                log.debug("notifications still wait for Redis: %s", exc)
        await self.feed.run(self.notifier.handle, self._leading)

    async def _leading(self, leading: bool) -> None:
        if leading:
            await self.deliverer.start()
        else:
            await self.deliverer.stop()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.deliverer.stop()
        await self.feed.close()
        if self.transport is not None:
            await self.transport.stop()
        await self.store.close()

    async def _load_vapid(self) -> Vapid:
        subject = self.settings.vapid_subject or DEFAULT_SUBJECT
        if not self.settings.vapid_subject:
            log.warning("no SCOREBOARD_VAPID_SUBJECT set: push services are given %s as the contact; "
                        "set a mailto: or https: address of yours (Apple refuses pushes without one)", subject)
        if self.settings.vapid_private_key:
            self._vapid_pem = self.settings.vapid_private_key
            vapid = Vapid.from_text(self._vapid_pem, subject)
            log.info("Web Push: VAPID key from settings (public key %s)", vapid.public_key)
            return vapid
        self._vapid_pem, created = await self.store.vapid_key(generate_pem)
        vapid = Vapid.from_text(self._vapid_pem, subject)
        log.warning(
            "Web Push: %s a VAPID key pair kept in the %s store (public key %s); every instance "
            "and restart uses it. To pin it, set SCOREBOARD_VAPID_PRIVATE_KEY (python -m scoreboard vapid-keys).",
            "made" if created else "using", self.store, vapid.public_key,
        )
        return vapid

    @property
    def public_key(self) -> str:
        if self.vapid is None:
            raise NotifyUnavailable("notifications are starting; retry shortly")
        return self.vapid.public_key

    # -- push subscriptions ------------------------------------------------------------------

    async def subscribe(self, browser: dict[str, Any], choice: dict[str, Any],
                        client: str) -> tuple[PushSubscription, str]:
        """A new subscription from a browser's PushSubscription JSON, made from the client
        address `client`; returns it and its token. Raises TooManySubscriptions when that
        address holds push_max_per_client, SubscriptionsFull past push_max_subscriptions."""
        if not self._client_key:
            raise NotifyUnavailable("notifications are starting; retry shortly")
        endpoint, p256dh, auth = await self._check_browser(browser)
        token = new_token(SUBSCRIPTION_TOKEN_PREFIX)
        subscription = PushSubscription(
            id=new_id(), endpoint=endpoint, p256dh=p256dh, auth=auth, token_hash=token_hash(token),
            matches=frozenset(choice["matches"]), teams=tuple(choice["teams"]), events=frozenset(choice["events"]),
            client=self.client_tag(client),
        )
        await self._guarded(self.store.put_subscription(subscription, self.caps))
        if self.transport is not None:
            self.transport.warm()
        return subscription, token

    def client_tag(self, address: str) -> str:
        """What a subscription keeps of the address it came from: a keyed hash, enough to
        count per address and useless for finding the address again."""
        return hmac.new(self._client_key, address.encode(), hashlib.sha256).hexdigest()[:32]

    async def subscription(self, subscription_id: str, token: str | None) -> PushSubscription:
        """The subscription if `token` manages it; raises MissingToken, NotFound, WrongToken."""
        if not token:
            raise MissingToken("send the subscription's token as 'Authorization: Bearer <token>'")
        found = await self._guarded(self.store.get_subscription(subscription_id))
        if found is None:
            raise NotFound(f"no push subscription {subscription_id!r}")
        if not found.token_matches(token):
            raise WrongToken("this token does not manage this subscription")
        return found

    async def update_subscription(self, subscription: PushSubscription, browser: dict[str, Any] | None,
                                  choice: dict[str, Any]) -> PushSubscription:
        endpoint, p256dh, auth = subscription.endpoint, subscription.p256dh, subscription.auth
        if browser is not None:  # the browser renewed its subscription (pushsubscriptionchange)
            endpoint, p256dh, auth = await self._check_browser(browser)
        updated = replace(
            subscription, endpoint=endpoint, p256dh=p256dh, auth=auth, matches=frozenset(choice["matches"]),
            teams=tuple(choice["teams"]), events=frozenset(choice["events"]),
        )
        await self._guarded(self.store.put_subscription(updated))
        return updated

    async def unsubscribe(self, subscription: PushSubscription) -> None:
        await self._guarded(self.store.delete_subscriptions([subscription.id]))

    async def _check_browser(self, browser: dict[str, Any]) -> tuple[str, str, str]:
        endpoint = browser["endpoint"]
        await check_target(self.guard, endpoint, ("subscription", "endpoint"))
        keys = browser["keys"]
        try:
            check_keys(keys["p256dh"], keys["auth"])
        except InvalidSubscriptionKey as exc:
            raise InvalidTarget(str(exc), {"subscription": {"keys": [str(exc)]}}) from None
        return endpoint, keys["p256dh"], keys["auth"]

    def _endpoints_changed(self) -> None:
        if self.notifier is not None:
            self.notifier.endpoints_changed()

    async def _guarded(self, operation: Awaitable[Any]) -> Any:
        return await guarded(operation)
