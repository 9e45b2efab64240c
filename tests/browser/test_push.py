"""Web Push in real Chromium: the page registers /sw.js, a push delivered through the DevTools
protocol shows the notification with the score, and its click brings up the match page.

Chromium here cannot reach a vendor push service (and Playwright's windows are incognito,
where Chrome refuses the Push API), so `PushManager.subscribe()` fails and the page must say
so; the push itself is delivered with `ServiceWorker.deliverPushMessage`. A system
notification cannot be clicked in headless Chromium, so the test dispatches a
`notificationclick` event for the shown notification inside the worker: the worker's own
handler then brings up the page.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from scoreboard.domain import Event, Match, MatchState
from scoreboard.notify.alerts import build_alert

from .conftest import ServerProcess, expect, unique_id

CLICK_FIRST_NOTIFICATION = """async () => {
  const [shown] = await self.registration.getNotifications();
  const click = new NotificationEvent("notificationclick", { notification: shown });
  let work = null;
  click.waitUntil = (promise) => { work = promise; };  // a script-made event has no lifetime of its own
  self.dispatchEvent(click);
  await work;
  return shown.data.url;
}"""
WAIT = 20.0  # seconds any one step may take on a loaded machine (each takes well under 1 s alone)
NOTIFICATIONS = "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.map(n => [n.title, n.body, n.tag]))"


def goal_payload(match_id: str) -> str:
    """The payload the server pushes for Messi's goal (same code as the sender's)."""
    match = Match(id=match_id, home="Argentina", away="France")
    event = Event(seq=2, id="g1", type="goal", at="2026-11-24T20:00:00Z",
                  fields={"team": "home", "player": "Messi", "minute": 23})
    alert = build_alert(match, event, MatchState(status="live", period=1, home=1, away=0, seq=2))
    assert alert is not None
    return alert.payload.decode()


def wait_until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll `check` until it gives something true; the waits here are generous on purpose:
    a loaded machine is slow, not wrong, and the assertions after each wait are unchanged."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"timed out after {timeout:.0f} s waiting for {what}"
            return value
        time.sleep(0.05)


def test_push_shows_the_score_and_its_click_brings_up_the_match_page(server: ServerProcess, browser: Any) -> None:
    """Notify me registers /sw.js; a pushed goal shows "GOAL! Argentina 1–0 France"; the click opens the match."""
    match_id = server.create_match("Argentina", "France", unique_id("push"))["id"]
    server.post(match_id, {"type": "period_start"}, {"type": "goal", "team": "home", "player": "Messi", "minute": 23})
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    context.set_default_timeout(WAIT * 1000)
    context.grant_permissions(["notifications"], origin=server.url)
    try:
        page = context.new_page()
        devtools = context.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        devtools.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
        devtools.send("ServiceWorker.enable")
        page.goto(f"{server.url}/matches/{match_id}")
        notify = page.locator(".notify-toggle")
        expect(notify).to_have_text("Notify me of goals", timeout=WAIT * 1000)
        expect(page.locator(".follow-toggle")).to_have_text(["Follow Argentina", "Follow France"])
        notify.click()
        expect(page.locator(".push-status")).to_contain_text("does not allow push notifications", timeout=WAIT * 1000)
        script = page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
        assert script == f"{server.url}/sw.js"

        page.goto(f"{server.url}/")  # the match page is not open any more
        # The CDP event naming the registration may trail `ready` on a busy machine.
        registration = wait_until(lambda: next((r for r in reversed(registrations) if not r["isDeleted"]
                                                and r["scopeURL"] == server.url + "/"), None),
                                  "the service worker registration over DevTools")
        devtools.send("ServiceWorker.deliverPushMessage", {
            "origin": server.url + "/", "registrationId": registration["registrationId"],
            "data": goal_payload(match_id),
        })
        shown = wait_until(lambda: page.evaluate(NOTIFICATIONS), "the notification")
        assert shown == [["GOAL! Argentina 1–0 France", "Messi 23'", f"match-{match_id}"]]

        worker = wait_until(lambda: context.service_workers, "Playwright to see the service worker")[0]
        assert worker.evaluate(CLICK_FIRST_NOTIFICATION) == f"{server.url}/matches/{match_id}"
        page.wait_for_url(f"{server.url}/matches/{match_id}")
        expect(page.locator("#match .score-home")).to_have_text("1", timeout=WAIT * 1000)
        assert page.evaluate(NOTIFICATIONS) == []  # the click closed it
    finally:
        context.close()


def test_blocked_notifications_are_explained(server: ServerProcess, page: Any) -> None:
    """With notifications blocked for the site, the page says how to allow them."""
    match_id = server.create_match("Argentina", "France", unique_id("blocked"))["id"]
    page.add_init_script("Object.defineProperty(Notification, 'permission', {get: () => 'denied'})")
    page.goto(f"{server.url}/matches/{match_id}")
    expect(page.locator(".push-status")).to_contain_text("Notifications are blocked for this site")
    page.locator(".follow-toggle").first.click()
    expect(page.locator(".follow-toggle").first).to_have_attribute("aria-pressed", "false")


def test_service_worker_is_served_from_the_root_as_javascript(server: ServerProcess) -> None:
    """/sw.js: JavaScript, never cached stale, allowed the whole site as its scope."""
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/sw.js", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/javascript")
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["Service-Worker-Allowed"] == "/"
        assert b"notificationclick" in response.read()
