"""Fan pages in a real browser: live updates, hostile text, toasts, SSE fallback, small screens."""
from __future__ import annotations

import time
from typing import Any

from .conftest import ARTIFACTS, ServerProcess, expect, unique_id

HOSTILE = '<img src=x onerror="window.__pwned=1">'


def open_live(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def test_goal_posted_via_api_appears_within_a_second(server: ServerProcess, page: Any) -> None:
    """A goal posted over HTTP shows on an open match page within 1 s, without a reload."""
    match_id = server.create_match("Argentina", "France", unique_id("arg-fra"))["id"]
    server.post(match_id, {"type": "period_start", "period": 1}, {"type": "period_end"},
                {"type": "period_start", "period": 2})
    open_live(page, f"{server.url}/matches/{match_id}")
    expect(page.locator("#match .status")).to_have_text("2nd half")
    page.evaluate("window.__notReloaded = true")

    started = time.monotonic()
    server.post(match_id, {"type": "goal", "team": "away", "player": "Mbappé", "minute": 80})
    expect(page.locator("#match .score-away")).to_have_text("1", timeout=1000)
    assert time.monotonic() - started < 1.0
    first = page.locator("#timeline li").first
    expect(first).to_have_attribute("data-type", "goal")
    expect(first).to_contain_text("Mbappé")
    expect(first).to_contain_text("80'")
    expect(page.locator("#announcer")).to_contain_text("France 1")
    assert page.evaluate("window.__notReloaded") is True
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "match-page.png"), full_page=True)


def test_first_paint_needs_no_javascript(server: ServerProcess, browser: Any) -> None:
    """The server renders score, status, period and a struck retracted event by itself."""
    match_id = server.create_match("Home", "Away", unique_id("nojs"))["id"]
    server.post(
        match_id, {"type": "period_start", "period": 1},
        {"type": "goal", "team": "home", "player": "Ann"}, {"type": "goal", "team": "home"},
    )
    server.post(match_id, {"type": "retract", "target": 3, "reason": "offside"})
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/matches/{match_id}")
        expect(page.locator("#match .score-home")).to_have_text("1")
        expect(page.locator("#match .status")).to_have_text("1st half")   # says the period too
        expect(page.locator('#timeline li[data-seq="3"]')).to_have_class("ev ev-goal retracted")
        expect(page.locator('#timeline li[data-seq="4"]')).to_contain_text("offside")
    finally:
        context.close()


def test_retract_strikes_the_event_live(server: ServerProcess, page: Any) -> None:
    """A retract arriving live strikes its target and corrects the score."""
    match_id = server.create_match("Home", "Away", unique_id("retract"))["id"]
    server.post(match_id, {"type": "period_start"}, {"type": "goal", "team": "home"})
    open_live(page, f"{server.url}/matches/{match_id}")
    server.post(match_id, {"type": "retract", "target": 2, "reason": "VAR"})
    expect(page.locator("#match .score-home")).to_have_text("0")
    expect(page.locator('#timeline li[data-seq="2"]')).to_have_class("ev ev-goal retracted")
    expect(page.locator('#timeline li[data-seq="3"]')).to_contain_text("no longer counts — VAR")


def test_hostile_names_render_as_text(server: ServerProcess, page: Any) -> None:
    """Team, player and notification text with HTML in it is shown as text, never as markup."""
    match_id = server.create_match(HOSTILE, f"<b>{HOSTILE}</b>", unique_id("xss"))["id"]
    server.post(match_id, {"type": "period_start"}, {"type": "goal", "team": "home", "player": HOSTILE})
    open_live(page, f"{server.url}/matches/{match_id}")
    server.post(
        match_id, {"type": "goal", "team": "away", "player": HOSTILE},
        {"type": "notification", "title": HOSTILE, "text": HOSTILE},
    )
    expect(page.locator("#match .score-away")).to_have_text("1")
    expect(page.locator(".toast").last).to_contain_text(HOSTILE)
    expect(page.locator("#match .team.home")).to_have_text(HOSTILE)
    expect(page.locator('#timeline li[data-seq="3"]')).to_contain_text(HOSTILE)
    assert page.locator("img").count() == 0
    assert page.locator("main b").count() == 0
    assert page.evaluate("window.__pwned") is None

    open_live(page, f"{server.url}/")
    expect(page.locator(f'li[data-match="{match_id}"] .team.home')).to_have_text(HOSTILE)
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_toast_for_notification_and_goal(server: ServerProcess, page: Any) -> None:
    """A notification event and a goal each show an in-page toast."""
    match_id = server.create_match("Home", "Away", unique_id("toast"))["id"]
    server.post(match_id, {"type": "period_start"})
    open_live(page, f"{server.url}/matches/{match_id}")
    server.post(match_id, {"type": "notification", "title": "Kick-off delayed", "text": "15 minutes",
                           "level": "important"})
    toast = page.locator(".toast.level-important")
    expect(toast).to_contain_text("Kick-off delayed")
    expect(toast).to_contain_text("15 minutes")
    server.post(match_id, {"type": "goal", "team": "home", "player": "Kane"})
    expect(page.locator(".toast.level-goal")).to_contain_text("Kane")


def test_sse_fallback(server: ServerProcess, page: Any) -> None:
    """With ?transport=sse the page follows the match over Server-Sent Events."""
    match_id = server.create_match("Home", "Away", unique_id("sse"))["id"]
    server.post(match_id, {"type": "period_start"})
    open_live(page, f"{server.url}/matches/{match_id}?transport=sse")
    expect(page.locator("#conn")).to_have_attribute("data-transport", "sse")
    server.post(match_id, {"type": "goal", "team": "home"}, {"type": "goal", "team": "away"})
    expect(page.locator("#match .score-home")).to_have_text("1")
    expect(page.locator("#match .score-away")).to_have_text("1")
    expect(page.locator("#timeline li")).to_have_count(3)


def test_websocket_blocked_falls_back_to_sse(server: ServerProcess, page: Any) -> None:
    """When no WebSocket can connect, the page switches to SSE by itself and stays live."""
    match_id = server.create_match("Home", "Away", unique_id("nows"))["id"]
    page.add_init_script("window.WebSocket = class { constructor() { setTimeout(() => "
                         "this.onclose && this.onclose({code: 1006}), 10); } close() {} };")
    page.goto(f"{server.url}/matches/{match_id}")
    expect(page.locator("#conn")).to_have_attribute("data-transport", "sse", timeout=8000)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=8000)
    server.post(match_id, {"type": "period_start"}, {"type": "goal", "team": "home"})
    expect(page.locator("#match .score-home")).to_have_text("1")


def test_index_lists_matches_live(server: ServerProcess, page: Any) -> None:
    """The match list updates scores live and shows a match that starts after it was opened."""
    known = server.create_match("Old", "Timers", unique_id("old"))["id"]
    open_live(page, f"{server.url}/")
    server.post(known, {"type": "period_start"}, {"type": "goal", "team": "home"})
    expect(page.locator(f'li[data-match="{known}"] .score-home')).to_have_text("1")
    fresh = server.create_match("New", "Comers", unique_id("new"))["id"]
    server.post(fresh, {"type": "period_start"}, {"type": "goal", "team": "away"})
    card = page.locator(f'li[data-match="{fresh}"]')
    expect(card.locator(".team.home")).to_have_text("New")
    expect(card.locator(".score-away")).to_have_text("1")


def test_fits_a_360px_phone(server: ServerProcess, browser: Any) -> None:
    """Match page and list have no sideways scroll at 360 px, even with long team names."""
    long_name = "Borussia Mönchengladbach Amateure Zweite Mannschaft"
    match_id = server.create_match(long_name, long_name, unique_id("phone"))["id"]
    server.post(match_id, {"type": "period_start"},
                {"type": "goal", "team": "home", "player": "Supercalifragilisticexpialidocious"})
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/console")
        page.evaluate(f"sessionStorage.setItem('scoreboard.apiKey', 'k');"
                      f"sessionStorage.setItem('scoreboard.consoleMatch', '{match_id}')")
        for path in (f"/matches/{match_id}", "/", "/console", "/embed", f"/embed/{match_id}"):
            page.goto(f"{server.url}{path}")
            if path == "/console":
                expect(page.locator("#match .team.home")).to_have_text(long_name)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path} is {width}px wide"
    finally:
        context.close()


def test_keyboard_reaches_the_controls(server: ServerProcess, page: Any) -> None:
    """Tab moves through the skip link and the navigation with a visible focus."""
    match_id = server.create_match("Home", "Away", unique_id("kbd"))["id"]
    open_live(page, f"{server.url}/matches/{match_id}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.tagName")
    assert focused in ("A", "BUTTON")



FAKE_NOTIFICATIONS = """
window.__shown = [];
window.__visibility = "visible";
Object.defineProperty(Document.prototype, "visibilityState", {
  get: () => window.__visibility, configurable: true,
});
window.Notification = class {
  static permission = "default";
  static async requestPermission() { this.permission = "granted"; return "granted"; }
  constructor(title, options) { window.__shown.push([title, options.body]); }
};
"""


def test_system_notification_while_hidden_when_allowed(server: ServerProcess, page: Any) -> None:
    """With notifications allowed and no push subscription, a goal while the tab is hidden
    raises a system notification from the page itself (the buttons use Web Push: test_push.py)."""
    match_id = server.create_match("Home", "Away", unique_id("notify"))["id"]
    server.post(match_id, {"type": "period_start"})
    page.add_init_script(FAKE_NOTIFICATIONS.replace('permission = "default"', 'permission = "granted"'))
    open_live(page, f"{server.url}/matches/{match_id}")
    expect(page.locator(".notify-toggle")).to_be_visible()

    server.post(match_id, {"type": "goal", "team": "home", "player": "Visible"})
    expect(page.locator("#match .score-home")).to_have_text("1")
    assert page.evaluate("window.__shown") == []      # visible tab: a toast is enough

    page.evaluate("window.__visibility = 'hidden'")
    server.post(match_id, {"type": "goal", "team": "away", "player": "Hidden"})
    expect(page.locator("#match .score-away")).to_have_text("1")
    shown = page.evaluate("window.__shown")
    assert len(shown) == 1 and shown[0][0].startswith("Goal · Away")
    assert "Hidden" in shown[0][1]


def test_private_match_page_needs_its_token(server: ServerProcess, page: Any) -> None:
    """A private match is refused without a viewer token and live with one."""
    match_id = unique_id("private")
    server.request("POST", "/api/matches", {"id": match_id, "home": "P1", "away": "P2", "private": True})
    token = server.request("POST", f"/api/matches/{match_id}/tokens", {})["token"]
    response = page.goto(f"{server.url}/matches/{match_id}")
    assert response.status == 401
    page.goto(f"{server.url}/")
    expect(page.locator(f'li[data-match="{match_id}"]')).to_have_count(0)
    open_live(page, f"{server.url}/matches/{match_id}?token={token}")
    server.post(match_id, {"type": "period_start"}, {"type": "goal", "team": "home"})
    expect(page.locator("#match .score-home")).to_have_text("1")


ICON_FACTS = """icon => {
  const use = icon.querySelector("svg use");
  const href = use && use.getAttribute("href");
  const box = use ? use.getBBox() : {width: 0, height: 0};
  return {
    role: icon.getAttribute("role"), label: icon.getAttribute("aria-label"),
    text: icon.textContent, symbol: Boolean(href && document.querySelector(href)),
    width: box.width, height: box.height,
  };
}"""


def test_event_icons_draw_without_an_emoji_font(server: ServerProcess, page: Any) -> None:
    """Goal and notification icons are SVG shapes with a spoken label, never emoji text."""
    match_id = server.create_match("Home", "Away", unique_id("icons"))["id"]
    server.post(match_id, {"type": "period_start"}, {"type": "goal", "team": "home"})
    open_live(page, f"{server.url}/matches/{match_id}")   # seq 1-2 painted by the server
    server.post(match_id, {"type": "notification", "title": "Hello"},
                {"type": "goal", "team": "away"}, {"type": "retract", "target": 4})
    expect(page.locator("#timeline li")).to_have_count(5)  # seq 3-5 painted live by render.js
    expected = {1: "Period start", 2: "Goal", 3: "Notification", 4: "Goal", 5: "Correction"}
    for seq, label in expected.items():
        facts = page.locator(f'#timeline li[data-seq="{seq}"] .ev-icon').evaluate(ICON_FACTS)
        assert facts["role"] == "img" and facts["label"] == label, (seq, facts)
        assert facts["text"].strip() == "", f"icon {seq} is text that needs a font: {facts['text']!r}"
        assert facts["symbol"] and facts["width"] > 4 and facts["height"] > 4, (seq, facts)
    expect(page.get_by_role("img", name="Notification")).to_have_count(1)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "timeline-icons.png"), full_page=True)
