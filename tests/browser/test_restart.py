"""A page open across a server restart ends with every event, in order, and the right score."""
from __future__ import annotations

import time
import urllib.error
from typing import Any

import pytest

from .conftest import ApiError, ServerProcess, expect, unique_id


def timeline_seqs(page: Any) -> list[int]:
    return [int(s) for s in page.locator("#timeline li").evaluate_all(
        "items => items.map(li => li.dataset.seq)")]


@pytest.mark.parametrize("transport", ["ws", "sse"])
def test_page_recovers_after_server_restart(own_server: ServerProcess, page: Any, transport: str) -> None:
    """Stop and restart the server under an open page; nothing posted around it is lost."""
    server = own_server
    match_id = server.create_match("Home", "Away", unique_id("restart"))["id"]
    server.post(match_id, {"type": "period_start", "period": 1}, {"type": "goal", "team": "home"})
    page.goto(f"{server.url}/matches/{match_id}?transport={transport}")
    conn = page.locator("#conn")
    expect(conn).to_have_attribute("data-state", "live")
    server.post(match_id, {"type": "goal", "team": "away", "player": "Before"})
    expect(page.locator("#match .score-away")).to_have_text("1")

    server.stop()
    expect(conn).to_have_attribute("data-state", "reconnecting")
    with pytest.raises((urllib.error.URLError, ApiError, OSError)):
        server.post(match_id, {"type": "goal", "team": "home", "player": "Lost"})

    server.start()
    # Posted while the page is still backing off: it must be replayed from `since`.
    server.post(
        match_id, {"type": "goal", "team": "home", "player": "While away"},
        {"type": "card", "team": "away", "color": "yellow", "player": "Booked"},
    )
    expect(conn).to_have_attribute("data-state", "live", timeout=15000)
    # Posted once the page is back: it must arrive live.
    server.post(match_id, {"type": "goal", "team": "away", "player": "After"},
                {"type": "retract", "target": 4, "reason": "handball"})

    expected = server.events(match_id)
    assert [e["seq"] for e in expected] == [1, 2, 3, 4, 5, 6, 7]
    final = server.match(match_id)
    assert final["score"] == {"home": 1, "away": 2}
    expect(page.locator("#timeline li")).to_have_count(len(expected), timeout=10000)
    assert timeline_seqs(page) == [7, 6, 5, 4, 3, 2, 1]
    expect(page.locator("#match .score-home")).to_have_text("1")
    expect(page.locator("#match .score-away")).to_have_text("2")
    expect(page.locator('#timeline li[data-seq="4"]')).to_have_class("ev ev-goal retracted")
    expect(page.locator('#timeline li[data-seq="4"]')).to_contain_text("While away")
    assert page.locator("#timeline li.ev-goal", has_text="Lost").count() == 0


# Every connection state the badge shows, in order (a state can pass between two polls).
RECORD_STATES = """
window.__states = [];
document.addEventListener("DOMContentLoaded", () => {
  const conn = document.getElementById("conn");
  new MutationObserver(() => {
    const state = conn.dataset.state;
    if (window.__states[window.__states.length - 1] !== state) window.__states.push(state);
  }).observe(conn, {attributes: true, attributeFilter: ["data-state"]});
});
"""


def close_log(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("window.scoreboardFeed.closes")


def test_sigterm_closes_with_1012_and_the_page_comes_back_after_a_jittered_wait(
    own_server: ServerProcess, page: Any,
) -> None:
    """A real SIGTERM closes the page's WebSocket with 1012; it waits a jittered delay,
    shows reconnecting, and resumes with `since` once the server is back: every event, in order."""
    server = own_server
    match_id = server.create_match("Home", "Away", unique_id("sigterm"))["id"]
    server.post(match_id, {"type": "period_start", "period": 1})
    page.add_init_script(RECORD_STATES)
    page.goto(f"{server.url}/matches/{match_id}?transport=ws")
    conn = page.locator("#conn")
    expect(conn).to_have_attribute("data-state", "live")
    server.post(match_id, {"type": "goal", "team": "home", "player": "Early"})
    expect(page.locator("#match .score-home")).to_have_text("1")

    server.stop()   # SIGTERM: the server tells every WebSocket 1012 Service Restart
    expect(conn).not_to_have_attribute("data-state", "live")
    first = close_log(page)[0]
    assert first["code"] == 1012, first
    assert 250 <= first["delayMs"] <= 3250, first

    server.start()
    server.post(match_id, {"type": "goal", "team": "away", "player": "While away"})
    expect(conn).to_have_attribute("data-state", "live", timeout=15000)
    server.post(match_id, {"type": "goal", "team": "away", "player": "After"})
    expect(page.locator("#timeline li")).to_have_count(4, timeout=10000)
    assert timeline_seqs(page) == [4, 3, 2, 1]
    expect(page.locator("#match .score-away")).to_have_text("2")
    expect(page.locator('#timeline li[data-seq="3"]')).to_contain_text("While away")
    states = page.evaluate("window.__states")
    assert "reconnecting" in states and states[-1] == "live", states


def test_restart_reconnects_are_spread_over_seconds(server: ServerProcess, page: Any) -> None:
    """The wait after a 1012/1001 close is drawn from a window of seconds, not one instant."""
    page.goto(f"{server.url}/")
    delays = page.evaluate(
        "import('/static/live.js').then(m => Array.from({length: 400}, () => m.restartDelay()))")
    assert all(250 <= d <= 3250 for d in delays)
    assert min(delays) < 700 and max(delays) > 2800   # spread over the whole window
    quarters = [sum(1 for d in delays if 250 + 750 * q <= d < 250 + 750 * (q + 1)) for q in range(4)]
    assert min(quarters) > 40, quarters                # and not bunched in one part of it


def test_page_shows_offline_while_the_server_stays_down_and_keeps_retrying(
    own_server: ServerProcess, page: Any,
) -> None:
    """Past the failure threshold the badge says offline; retries go on, capped, until the
    server is back and the page is live again."""
    server = own_server
    match_id = server.create_match("Home", "Away", unique_id("offline"))["id"]
    # restart_window_ms=0: no restart schedule after the 1012 (see the test below), the backoff at once.
    page.goto(f"{server.url}/matches/{match_id}?transport=ws"
              "&retry_base_ms=50&retry_cap_ms=300&offline_after=2&restart_window_ms=0")
    conn = page.locator("#conn")
    expect(conn).to_have_attribute("data-state", "live")

    server.stop()   # SIGTERM: 1012 first, then refused connections while it stays down
    expect(conn).to_have_attribute("data-state", "offline", timeout=8000)
    assert close_log(page)[0]["code"] == 1012
    expect(conn.locator(".conn-label")).to_contain_text("Offline")
    expect(conn.locator(".conn-retry")).to_be_visible()
    seen = len(close_log(page))
    deadline = time.monotonic() + 5
    while len(close_log(page)) < seen + 3:   # still trying (the page's CSP forbids wait_for_function)
        assert time.monotonic() < deadline, "the page stopped retrying"
        page.wait_for_timeout(100)
    failures = close_log(page)[1:]
    assert failures and all(c["code"] != 1012 and c["delayMs"] <= 300 for c in failures), failures
    expect(conn).to_have_attribute("data-state", "offline")

    server.start()
    server.post(match_id, {"type": "period_start"}, {"type": "goal", "team": "home"})
    expect(conn).to_have_attribute("data-state", "live", timeout=5000)
    expect(page.locator("#match .score-home")).to_have_text("1")


def test_after_a_restart_close_failed_attempts_retry_soon_until_the_new_process_answers(
    own_server: ServerProcess, page: Any,
) -> None:
    """After 1012, attempts refused while no process listens are retried on the restart
    schedule (0.25-1.25 s each, never the slow backoff), the badge says reconnecting however
    many it takes, and the page is live again within moments of the server coming back."""
    server = own_server
    match_id = server.create_match("Home", "Away", unique_id("deploy"))["id"]
    server.post(match_id, {"type": "period_start", "period": 1})
    page.add_init_script(RECORD_STATES)
    page.goto(f"{server.url}/matches/{match_id}?transport=ws&offline_after=2")
    conn = page.locator("#conn")
    expect(conn).to_have_attribute("data-state", "live")

    server.stop()   # SIGTERM: 1012, then refused connections while it stays down
    deadline = time.monotonic() + 15
    while len(close_log(page)) < 6:   # the 1012 and five refused attempts
        assert time.monotonic() < deadline, close_log(page)
        page.wait_for_timeout(100)
    closes = close_log(page)
    assert closes[0]["code"] == 1012, closes
    failures = closes[1:]
    assert all(c["code"] != 1012 and 250 <= c["delayMs"] <= 1250 for c in failures), failures
    expect(conn).to_have_attribute("data-state", "reconnecting")   # past offline_after, still

    server.start()
    started = time.monotonic()
    server.post(match_id, {"type": "goal", "team": "home", "player": "Back"})
    expect(conn).to_have_attribute("data-state", "live", timeout=5000)
    expect(page.locator("#match .score-home")).to_have_text("1")
    assert time.monotonic() - started < 3.0   # one short retry, not a backoff of several seconds
    assert "offline" not in page.evaluate("window.__states")
