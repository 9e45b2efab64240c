"""What a newcomer, a fan and an embedder meet in their first minutes (issue 15): the console's
local key, the fans' navigation, telling two fixtures apart, an honest connection badge."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import ServerProcess as BareServerProcess
from support import free_port

from .conftest import API_KEY, HostSite, ServerProcess, expect, unique_id
from .layout import WIDTHS, new_context


@pytest.fixture
def dev_key_server(browser: Any, tmp_path: Path) -> Iterator[BareServerProcess]:
    """The service as `make run` starts it: no keys configured, the built-in dev key on."""
    process = BareServerProcess(port=free_port(), db=tmp_path / "dev.db", api_key="")
    process.start(env={"SCOREBOARD_DEV_KEY": "true"})
    yield process
    process.stop()


@pytest.mark.parametrize("width", WIDTHS)
def test_console_offers_the_dev_key_when_the_service_runs_on_it(
    browser: Any, dev_key_server: BareServerProcess, width: int,
) -> None:
    """Under `make run` the console names `dev-key` and one press logs in with it: a match
    created from the console is stored."""
    context = new_context(browser, width)
    try:
        page = context.new_page()
        page.goto(f"{dev_key_server.url}/console")
        hint = page.locator("#dev-key-hint")
        expect(hint).to_be_visible()
        expect(hint).to_contain_text("dev-key")
        page.click("#use-dev-key")
        expect(page.locator("#key-saved")).to_be_visible()
        expect(hint).to_be_hidden()
        match_id = unique_id("dev")
        page.click("#create-details summary")
        page.fill("#new-home", "Reds")
        page.fill("#new-away", "Blues")
        page.fill("#new-id", match_id)
        page.click("#create-form button[type=submit]")
        expect(page.locator("#match-select")).to_have_value(match_id)
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    finally:
        context.close()


def test_console_never_shows_a_real_key(server: ServerProcess, page: Any) -> None:
    """With real keys configured the console has no key hint and its page holds no key."""
    response = page.goto(f"{server.url}/console")
    html = response.text()
    assert API_KEY not in html and "dev-key" not in html
    expect(page.locator("#dev-key-hint")).to_have_count(0)
    expect(page.locator("#api-key")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_console_is_out_of_the_fans_navigation_but_a_click_away(
    browser: Any, server: ServerProcess, width: int,
) -> None:
    """Public pages' navigation is Matches and Embed; the console, the API docs and the embed
    guide sit in the footer (and the embed guide names the console)."""
    match_id = server.create_match("Home", "Away", unique_id("nav"))["id"]
    context = new_context(browser, width)
    try:
        page = context.new_page()
        for path in ("/", f"/matches/{match_id}", "/embed", "/api/docs", "/api/docs/protocol"):
            page.goto(f"{server.url}{path}")
            assert page.locator(".site-nav a").all_inner_texts() == ["Matches", "Embed"], path
            footer = page.locator(".site-footer")
            expect(footer.get_by_role("link", name="Scorekeeper console")).to_have_attribute("href", "/console")
            expect(footer.get_by_role("link", name="HTTP API")).to_have_attribute("href", "/api/docs")
        page.goto(f"{server.url}/embed")
        expect(page.locator("main").get_by_role("link", name="scorekeeper console")).to_be_visible()
        page.locator(".site-footer").get_by_role("link", name="Scorekeeper console").click()
        expect(page.locator("h1")).to_have_text("Scorekeeper console")
    finally:
        context.close()


# The same two teams twice: the 2022 final (finished) and a rematch years later (scheduled).
FINAL_KICKOFF = "2022-12-18T15:00:00+00:00"
REMATCH_KICKOFF = "2030-06-18T19:00:00+00:00"


@pytest.mark.parametrize("zone, final_day, rematch_time, rematch_day", [
    ("Asia/Tokyo", "19 Dec\n2022", "04:00", "19 Jun\n2030"),
    ("America/Los_Angeles", "18 Dec\n2022", "12:00", "18 Jun\n2030"),
])
@pytest.mark.parametrize("width", WIDTHS)
def test_home_tells_two_fixtures_of_the_same_teams_apart(
    browser: Any, server: ServerProcess, zone: str, final_day: str, rematch_time: str,
    rematch_day: str, width: int,
) -> None:
    """Two Argentina v France cards differ at a glance: status, kickoff time and date in the
    viewer's own time zone; the scheduled one turns live in place when it kicks off."""
    final, rematch = unique_id("final"), unique_id("rematch")
    server.request("POST", "/api/matches", {"id": final, "home": "Argentina", "away": "France",
                                            "starts_at": FINAL_KICKOFF})
    server.request("POST", "/api/matches", {"id": rematch, "home": "Argentina", "away": "France",
                                            "starts_at": REMATCH_KICKOFF})
    server.post(final, {"type": "period_start"}, {"type": "goal", "team": "home"},
                {"type": "period_end", "final": True})
    context = new_context(browser, width, timezone_id=zone)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/")
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        old, new = page.locator(f'li[data-match="{final}"]'), page.locator(f'li[data-match="{rematch}"]')
        expect(old.locator(".status")).to_have_text("FT")
        expect(old.locator(".kickoff-day")).to_have_text(final_day)
        expect(old.locator(".kickoff-time")).to_be_hidden()
        expect(new.locator(".kickoff-time")).to_have_text(rematch_time)
        expect(new.locator(".kickoff-day")).to_have_text(rematch_day)
        expect(new.locator(".score-home")).to_be_hidden()     # no "0 0" before kickoff
        assert old.inner_text() != new.inner_text()
        assert "2030" in (new.locator(".kickoff-time").get_attribute("title") or "")

        server.post(rematch, {"type": "period_start"}, {"type": "goal", "team": "away"})
        expect(new.locator(".status")).to_have_text("1'")   # the live minute, ticking
        expect(new.locator(".score-away")).to_have_text("1")
        expect(new.locator(".score-away")).to_be_visible()
        expect(new.locator(".kickoff-time")).to_be_hidden()
        expect(new.locator(".kickoff-day")).to_have_text(rematch_day)   # still known, just not shown
    finally:
        context.close()


def test_match_page_gives_kickoff_in_the_viewers_zone(browser: Any, server: ServerProcess) -> None:
    """The match page shows the local kickoff instead of a 0–0 before the match starts, and the
    full local date and time under the status."""
    match_id = unique_id("kickoff")
    server.request("POST", "/api/matches", {"id": match_id, "home": "Argentina", "away": "France",
                                            "starts_at": REMATCH_KICKOFF})
    context = new_context(browser, 1280, timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        page.goto(f"{server.url}/matches/{match_id}")
        expect(page.locator(".hero .score-kickoff")).to_have_text("04:00")
        expect(page.locator(".hero .score")).to_be_hidden()
        expect(page.locator(".match-facts .kickoff")).to_have_text("Wed, 19 Jun 2030, 04:00")
        server.post(match_id, {"type": "period_start"})
        expect(page.locator(".hero .score")).to_be_visible()
        expect(page.locator(".hero .score-kickoff")).to_be_hidden()
    finally:
        context.close()


def test_the_first_paint_names_its_time_zone_without_javascript(server: ServerProcess, browser: Any) -> None:
    """Without JavaScript a kickoff is printed in UTC and says so, never passed off as local."""
    match_id = unique_id("nojs-kickoff")
    server.request("POST", "/api/matches", {"id": match_id, "home": "A", "away": "B",
                                            "starts_at": REMATCH_KICKOFF})
    context = browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        page.goto(f"{server.url}/matches/{match_id}")
        expect(page.locator(".match-facts .kickoff")).to_have_text("18 Jun 2030, 19:00 UTC")
    finally:
        context.close()


CONTEXT_CARD = """async ([withContext]) => {
  const { paintCard } = await import("/static/render.js");
  const li = document.getElementById("card-template").content.firstElementChild.cloneNode(true);
  document.getElementById("match-list").append(li);
  const match = {id: "wc-final", home: "Argentina", away: "France", status: "finished", seq: 9,
                 period: 4, score: {home: 3, away: 3}, starts_at: "2022-12-18T15:00:00Z",
                 winner: "home", decided_by: "penalties"};
  if (withContext) Object.assign(match, {competition: "FIFA World Cup", stage: "Final"});
  paintCard(li, match);
  const context = li.querySelector(".card-context");
  return [context.hidden ? null : context.textContent, li.querySelector(".status").textContent,
          li.dataset.leader, li.getAttribute("href") || li.querySelector("a").getAttribute("href")];
}"""


def test_cards_show_competition_and_stage_when_known(server: ServerProcess, page: Any) -> None:
    """A card painted live names its competition and stage when the match has them (and hides
    the line when not); a shootout winner is the card's leader and its status reads Pens."""
    page.goto(f"{server.url}/")
    with_context = page.evaluate(CONTEXT_CARD, [True])
    assert with_context == ["FIFA World Cup · Final", "Pens", "home", "/matches/wc-final"]
    without = page.evaluate(CONTEXT_CARD, [False])
    assert without[0] is None


RECORD_BADGE = """
window.__badge = [];
document.addEventListener("DOMContentLoaded", () => {
  const conn = document.getElementById("conn");
  const note = () => {
    const seen = conn.hidden ? "(hidden)" : conn.querySelector(".conn-label").textContent;
    if (window.__badge[window.__badge.length - 1] !== seen) window.__badge.push(seen);
  };
  note();
  new MutationObserver(note).observe(conn, {attributes: true, childList: true, subtree: true, characterData: true});
});
"""


@pytest.mark.parametrize("width", WIDTHS)
def test_badge_goes_straight_to_live_on_a_fresh_page(browser: Any, server: ServerProcess, width: int) -> None:
    """On a page whose cards are current and whose connection opens at once, the badge never
    shows "Connecting…": it appears as Live and stays Live while the cards update."""
    match_id = server.create_match("Home", "Away", unique_id("badge"))["id"]
    server.post(match_id, {"type": "period_start"})
    context = new_context(browser, width)
    try:
        page = context.new_page()
        page.add_init_script(RECORD_BADGE)
        page.goto(f"{server.url}/")
        expect(page.locator("#conn .conn-label")).to_have_text("Live")
        server.post(match_id, {"type": "goal", "team": "home"})
        expect(page.locator(f'li[data-match="{match_id}"] .score-home')).to_have_text("1")
        page.wait_for_timeout(1700)   # past the moment a slow connection would be announced
        assert page.evaluate("window.__badge") == ["(hidden)", "Live"]
    finally:
        context.close()


# A WebSocket whose opening takes 2.5 s (a slow phone network): the page's live client sees a
# real connection, only late.
SLOW_WEBSOCKET = """
const RealWebSocket = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const socket = this;
  let real = null;
  socket.readyState = 0;
  setTimeout(() => {
    real = new RealWebSocket(url, protocols);
    real.onopen = (e) => { socket.readyState = 1; socket.onopen && socket.onopen(e); };
    real.onmessage = (e) => socket.onmessage && socket.onmessage(e);
    real.onerror = (e) => socket.onerror && socket.onerror(e);
    real.onclose = (e) => { socket.readyState = 3; socket.onclose && socket.onclose(e); };
  }, 2500);
  socket.send = (data) => real.send(data);
  socket.close = (...args) => { socket.readyState = 3; if (real) real.close(...args); };
};
Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
"""


def test_slow_first_connection_says_connecting_then_live(browser: Any, server: ServerProcess) -> None:
    """When the connection is slow to open the badge says "Connecting…" after a moment, and
    "Live" as soon as it opens: it never stays on "Connecting…" once the page is live."""
    match_id = server.create_match("Home", "Away", unique_id("slow"))["id"]
    server.post(match_id, {"type": "period_start"})
    context = new_context(browser, 390)
    try:
        page = context.new_page()
        page.add_init_script(RECORD_BADGE)
        page.add_init_script(SLOW_WEBSOCKET)
        page.goto(f"{server.url}/?transport=ws")
        expect(page.locator("#conn .conn-label")).to_have_text("Connecting…", timeout=2400)
        expect(page.locator("#conn .conn-label")).to_have_text("Live", timeout=5000)
        server.post(match_id, {"type": "goal", "team": "away"})
        expect(page.locator(f'li[data-match="{match_id}"] .score-away')).to_have_text("1")
        assert page.evaluate("window.__badge") == ["(hidden)", "Connecting…", "Live"]
    finally:
        context.close()


WIDGET_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Club</title></head><body>
<script src="{server}/static/widget.js" data-match="{first}" async></script>
<div id="later"></div>
</body></html>
"""

ADD_WIDGET = """([src, match]) => {
  const script = document.createElement("script");
  script.src = src;
  script.dataset.match = match;
  document.getElementById("later").append(script);
}"""


def test_widget_added_after_the_connection_is_live_shows_live(
    server: ServerProcess, host_site: HostSite, page: Any,
) -> None:
    """A widget mounted once the shared connection is already live (a second script tag that
    loads later) shows the live dot and the live score, not a grey "connecting" dot."""
    first = server.create_match("Lions", "Tigers", unique_id("first"))["id"]
    second = server.create_match("Bears", "Wolves", unique_id("second"))["id"]
    server.post(second, {"type": "period_start"})
    host_site.pages["later.html"] = WIDGET_PAGE.format(server=server.url, first=first)
    page.goto(f"{host_site.url}/later.html")
    expect(page.locator(f'[data-scoreboard-match="{first}"] .d')).to_have_class("d live")
    page.evaluate(ADD_WIDGET, [f"{server.url}/static/widget.js", second])
    late = page.locator(f'[data-scoreboard-match="{second}"]')
    expect(late.locator(".h")).to_have_text("Bears")
    expect(late.locator(".d")).to_have_class("d live")
    server.post(second, {"type": "goal", "team": "away"})
    expect(late.locator(".as")).to_have_text("1")
