"""A rotated push subscription reaches the server, in real Chromium against the real server
and the suite's local push service (which decrypts each push with the browser key it was
made for).

What these tests can and cannot show. Chromium here has no vendor push service to talk to
(no network; Playwright's windows are incognito, where Chrome refuses the Push API), so
`PushManager.subscribe()` and `getSubscription()` are replaced, in the page and in the
worker, by stand-ins that record the application server key they are asked for and hand out
a subscription whose endpoint and keys belong to a browser of the local push service. The
browser never rotates a subscription by itself here, so the test dispatches a real
`PushSubscriptionChangeEvent` in the service worker (as test_push.py dispatches its
notificationclick). Everything after that is the shipped code: the worker's handler reading
the record from IndexedDB, fetching the server key, re-subscribing with it, PUT (or, when the
server had deleted the subscription, POST) to the server, writing the record back, and the
open page taking the new record over a BroadcastChannel; then a goal posted to the server is
pushed, encrypted for the new keys, to the new endpoint only. Not covered: that a browser
fires the event (or rotates at all) when its vendor decides to, and a vendor's real endpoint.
"""
from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from push_service import PushService

from .conftest import ServerProcess, expect, unique_id

WAIT = 20.0  # generous: these pass in ~2 s alone, and must not fail on a loaded machine

# In the page (before its scripts): the browser's subscription is whatever localStorage
# "test.held" says; subscribe() records the key and hands out "test.next".
PAGE_STAND_IN = """
(() => {
  const load = (name) => JSON.parse(localStorage.getItem(name) || "null");
  const standIn = (json, key) => json && {
    endpoint: json.endpoint, expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: Uint8Array.from(key).buffer },
    toJSON: () => json, unsubscribe: async () => { localStorage.removeItem("test.held"); return true; },
  };
  PushManager.prototype.getSubscription = async function () {
    return standIn(load("test.held"), load("test.key") || []);
  };
  PushManager.prototype.subscribe = async function (options) {
    const key = Array.from(new Uint8Array(options.applicationServerKey));
    localStorage.setItem("test.key", JSON.stringify(key));
    localStorage.setItem("test.held", localStorage.getItem("test.next"));
    return standIn(load("test.next"), key);
  };
})();
"""

# In the worker: the browser dropped its subscription (getSubscription: null) and subscribe()
# hands out `next`; then the change event, whose work is awaited (a script-made event has no
# lifetime of its own, so waitUntil is caught as in test_push.py).
ROTATE = """async (next) => {
  const keys = [];
  self.registration.pushManager.getSubscription = async () => null;
  self.registration.pushManager.subscribe = async (options) => {
    const key = new Uint8Array(options.applicationServerKey);
    keys.push(Array.from(key));
    return { endpoint: next.endpoint, expirationTime: null,
             options: { userVisibleOnly: true, applicationServerKey: key.buffer },
             toJSON: () => next, unsubscribe: async () => true };
  };
  const change = new PushSubscriptionChangeEvent("pushsubscriptionchange", {});
  let work = null;
  change.waitUntil = (promise) => { work = promise; };
  self.dispatchEvent(change);
  await work;
  return keys;
}"""
RECORD = "JSON.parse(localStorage.getItem('scoreboard.push'))"


class ThreadedPushService:
    """The suite's local push service on a loop of its own, for these synchronous tests."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.service = PushService()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=WAIT + 5)

    def start(self) -> None:
        self._thread.start()
        self._run(self.service.start())

    def stop(self) -> None:
        self._run(self.service.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def wait_for(self, predicate: Callable[[], bool]) -> None:
        self._run(self.service.wait_for(predicate, timeout=WAIT))

    def goals_for(self, name: str) -> list[int]:
        return [d.message["seq"] for d in self.service.for_browser(name) if d.message.get("kind") == "goal"]


@pytest.fixture
def push_service(browser: Any) -> Iterator[ThreadedPushService]:
    service = ThreadedPushService()
    service.start()
    yield service
    service.stop()
    assert service.service.rejected == [], service.service.rejected


@pytest.fixture
def push_server(browser: Any, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server that may push to the local push service (http on 127.0.0.1)."""
    process = ServerProcess(tmp_path / "push.db")
    process.start(env={"SCOREBOARD_OUTBOUND_ALLOW_PRIVATE": "true"})
    yield process
    process.stop()


def server_key(server: ServerProcess) -> list[int]:
    key = server.request("GET", "/api/push/key", key=None)["public_key"]
    return list(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)))


def wait_until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_rotated_subscription_is_renewed_by_the_worker_and_pushes_follow_it(
    push_server: ServerProcess, push_service: ThreadedPushService, browser: Any,
) -> None:
    """pushsubscriptionchange: the worker re-subscribes with the server key and PUTs the new
    subscription (same id and token); the open page's copy follows; the next goal goes to the
    new endpoint only. If the server had deleted the subscription, it subscribes anew (POST)."""
    server = push_server
    match_id = server.create_match("Argentina", "France", unique_id("renew"))["id"]
    server.post(match_id, {"type": "period_start"})
    browsers = {name: push_service.service.browser(name).subscription() for name in ("first", "renewed", "third")}
    push_service.service.server_key = server.request("GET", "/api/push/key", key=None)["public_key"]
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    context.set_default_timeout(WAIT * 1000)
    context.grant_permissions(["notifications"], origin=server.url)
    context.add_init_script(PAGE_STAND_IN)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/matches/{match_id}")
        page.evaluate("next => localStorage.setItem('test.next', JSON.stringify(next))", browsers["first"])
        page.locator(".notify-toggle").click()
        expect(page.locator(".notify-toggle")).to_have_text("Notifying you of goals")
        made = page.evaluate(RECORD)
        assert made["endpoint"] == browsers["first"]["endpoint"] and made["matches"] == [match_id]
        assert page.evaluate("JSON.parse(localStorage.getItem('test.key'))") == server_key(server)

        worker = wait_until(lambda: context.service_workers, "the service worker")[0]
        assert worker.evaluate(ROTATE, browsers["renewed"]) == [server_key(server)]
        record = wait_until(lambda: (r := page.evaluate(RECORD))["endpoint"] == browsers["renewed"]["endpoint"] and r,
                            "the page's copy to follow the worker's renewal")
        assert (record["id"], record["token"]) == (made["id"], made["token"])
        mine = server.request("GET", f"/api/push/subscriptions/{made['id']}", key=made["token"])
        assert mine["matches"] == [match_id]
        server.post(match_id, {"type": "goal", "team": "home", "player": "Messi"})
        push_service.wait_for(lambda: push_service.goals_for("renewed") == [2])
        assert push_service.goals_for("first") == []

        # The old endpoint's 410 made the server delete it before the browser said anything.
        server.request("DELETE", f"/api/push/subscriptions/{made['id']}", key=made["token"])
        assert worker.evaluate(ROTATE, browsers["third"]) == [server_key(server)]
        again = wait_until(lambda: (r := page.evaluate(RECORD))["endpoint"] == browsers["third"]["endpoint"] and r,
                           "the page's copy to take the new subscription")
        assert again["id"] != made["id"] and again["matches"] == [match_id]
        stored = worker.evaluate("() => self.scoreboardPush.read()")
        assert stored == again
        server.post(match_id, {"type": "goal", "team": "away"})
        push_service.wait_for(lambda: push_service.goals_for("third") == [3])
        assert push_service.goals_for("renewed") == [2]
        page.reload()
        expect(page.locator(".notify-toggle")).to_have_text("Notifying you of goals")
    finally:
        context.close()


def test_a_page_visit_sends_a_subscription_the_browser_replaced_without_telling(
    push_server: ServerProcess, push_service: ThreadedPushService, browser: Any,
) -> None:
    """No pushsubscriptionchange (not every browser fires it): the next visit to a match page
    finds the browser holds another subscription and sends it; the goal goes there. (And a
    followed team's match counts as covered by pushes.)"""
    server = push_server
    match_id = server.create_match("Argentina", "France", unique_id("visit"))["id"]
    server.post(match_id, {"type": "period_start"})
    first = push_service.service.browser("first").subscription()
    replaced = push_service.service.browser("replaced").subscription()
    push_service.service.server_key = server.request("GET", "/api/push/key", key=None)["public_key"]
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    context.set_default_timeout(WAIT * 1000)
    context.grant_permissions(["notifications"], origin=server.url)
    context.add_init_script(PAGE_STAND_IN)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/matches/{match_id}")
        page.evaluate("next => localStorage.setItem('test.next', JSON.stringify(next))", first)
        page.locator(".follow-toggle").first.click()
        expect(page.locator(".follow-toggle").first).to_have_text("Following Argentina")
        made = page.evaluate(RECORD)
        # Pushes cover this match now (Argentina is followed): the page skips its own hidden-tab alert.
        covers = "id => import('/static/push.js').then(m => m.pushCovers(id))"
        assert page.evaluate(covers, match_id) is True and page.evaluate(covers, "another-match") is False
        page.evaluate("held => localStorage.setItem('test.held', JSON.stringify(held))", replaced)
        page.reload()
        wait_until(lambda: page.evaluate(RECORD)["endpoint"] == replaced["endpoint"], "the visit to send it")
        assert page.evaluate(RECORD)["id"] == made["id"]
        assert page.evaluate("self.scoreboardPush.read()")["endpoint"] == replaced["endpoint"]  # the worker's copy too
        server.post(match_id, {"type": "goal", "team": "home"})
        push_service.wait_for(lambda: push_service.goals_for("replaced") == [2])
        assert push_service.goals_for("first") == []
    finally:
        context.close()
