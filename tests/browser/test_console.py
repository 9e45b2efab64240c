"""The scorekeeper console: key handling, creating a match, safe presses, undo, plain errors."""
from __future__ import annotations

from typing import Any


from .conftest import API_KEY, ServerProcess, expect, unique_id


def enter_key(page: Any, key: str = API_KEY) -> None:
    page.fill("#api-key", key)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-saved")).to_be_visible()


def create_in_console(page: Any, home: str, away: str, match_id: str, private: bool = False) -> None:
    """Fill and send the console's create form; it then selects the new match."""
    page.click("#create-details summary")
    page.fill("#new-home", home)
    page.fill("#new-away", away)
    page.fill("#new-id", match_id)
    if private:
        page.check("#new-private")
    page.click("#create-form button[type=submit]")
    expect(page.locator("#match-select")).to_have_value(match_id)


def test_console_posts_goal_and_undo_and_a_double_click_counts_once(
    server: ServerProcess, page: Any,
) -> None:
    """Create a match, score, double-click a goal (one event), undo; the key never hits a URL."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{server.url}/console")
    enter_key(page)
    assert page.evaluate("sessionStorage.getItem('scoreboard.apiKey')") == API_KEY

    match_id = unique_id("console")
    create_in_console(page, "Reds", "Blues", match_id)
    expect(page.locator("#control-panel")).to_be_visible()
    expect(page.locator("#match .team.home")).to_have_text("Reds")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")

    page.click('button[data-action="period_start"]')
    expect(page.locator("#console-msg")).to_contain_text("recorded as event #1")
    page.fill("#ev-player", "Striker")
    page.fill("#ev-minute", "9")
    page.click('button[data-action="goal"][data-team="home"]')
    expect(page.locator("#console-msg")).to_contain_text("Goal for Reds recorded as event #2")
    expect(page.locator("#match .score-home")).to_have_text("1")

    page.dblclick('button[data-action="goal"][data-team="away"]')
    expect(page.locator("#console-msg")).to_contain_text("Goal for Blues recorded as event #3")
    expect(page.locator("#match .score-away")).to_have_text("1")
    page.wait_for_timeout(300)  # room for a second post, if one were (wrongly) sent
    goals = [e for e in server.events(match_id) if e["type"] == "goal"]
    assert [g["team"] for g in goals] == ["home", "away"]
    assert goals[0]["player"] == "Striker" and goals[0]["minute"] == 9
    assert all(g["id"] and not g["id"].startswith("srv-") for g in goals)

    page.click('button[data-action="undo"]')
    expect(page.locator("#console-msg")).to_contain_text("Undo of event #3")
    expect(page.locator("#match .score-away")).to_have_text("0")
    events = server.events(match_id)
    assert events[-1]["type"] == "retract" and events[-1]["target"] == 3
    assert server.match(match_id)["score"] == {"home": 1, "away": 0}
    expect(page.locator('#timeline li[data-seq="3"]')).to_have_class("ev ev-goal retracted")

    assert not any(API_KEY in url for url in requests)


def test_console_retries_a_press_with_the_same_id(server: ServerProcess, page: Any) -> None:
    """A press whose first attempt fails on the network is retried with the same event id."""
    match_id = server.create_match("Reds", "Blues", unique_id("retry"))["id"]
    server.post(match_id, {"type": "period_start"})
    page.goto(f"{server.url}/console")
    page.evaluate(f"sessionStorage.setItem('scoreboard.consoleMatch', '{match_id}')")
    enter_key(page)
    expect(page.locator("#match .team.home")).to_have_text("Reds")

    bodies: list[str] = []
    failed = {"done": False}

    def flaky(route: Any) -> None:
        bodies.append(route.request.post_data or "")
        if not failed["done"]:
            failed["done"] = True
            route.fetch()          # the server stores the goal...
            route.abort("connectionreset")   # ...but the answer is lost on the way back
            return
        route.continue_()

    page.route("**/api/matches/*/events", flaky)
    page.click('button[data-action="goal"][data-team="home"]')
    expect(page.locator("#console-msg")).to_contain_text("already recorded as event #2", timeout=8000)
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert server.match(match_id)["score"] == {"home": 1, "away": 0}


def test_console_explains_api_errors(server: ServerProcess, page: Any) -> None:
    """A wrong key and a closed match are explained in plain words."""
    match_id = server.create_match("Reds", "Blues", unique_id("errors"))["id"]
    server.post(match_id, {"type": "period_start"}, {"type": "period_end", "final": True})
    page.goto(f"{server.url}/console")
    page.evaluate(f"sessionStorage.setItem('scoreboard.consoleMatch', '{match_id}')")
    enter_key(page)
    expect(page.locator("#match .status")).to_have_text("Full time")
    page.click('button[data-action="goal"][data-team="home"]')
    expect(page.locator("#console-msg")).to_contain_text("This match is over")

    page.click("#forget-key")
    enter_key(page, "not-the-key")
    page.click("#create-details summary")
    page.fill("#new-home", "A")
    page.fill("#new-away", "B")
    page.click("#create-form button[type=submit]")
    expect(page.locator("#console-msg")).to_contain_text("API key was not accepted")
    expect(page.locator("#api-key")).to_be_visible()


def test_console_follows_a_private_match_live_with_a_viewer_token(
    server: ServerProcess, page: Any,
) -> None:
    """For a private match the console mints a viewer token with its key and goes live on it;
    the key itself never appears in a URL."""
    urls: list[str] = []
    minted: list[str | None] = []
    page.on("request", lambda r: urls.append(r.url))
    page.on("request", lambda r: minted.append(r.headers.get("authorization"))
            if r.method == "POST" and r.url.endswith("/tokens") else None)
    page.on("websocket", lambda ws: urls.append(ws.url))
    page.goto(f"{server.url}/console")
    enter_key(page)

    match_id = unique_id("private-console")
    create_in_console(page, "Secret Reds", "Hidden Blues", match_id, private=True)
    assert server.request("GET", f"/api/matches/{match_id}")["private"] is True
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#match .team.home")).to_have_text("Secret Reds")
    assert minted == [f"Bearer {API_KEY}"]
    assert any("/ws?" in u and "token=" in u for u in urls), urls

    page.click('button[data-action="period_start"]')
    page.click('button[data-action="goal"][data-team="away"]')
    expect(page.locator("#match .score-away")).to_have_text("1")
    expect(page.locator('#timeline li[data-type="goal"]')).to_have_count(1)
    server.request("POST", f"/api/matches/{match_id}/events", {"type": "goal", "team": "home"})
    expect(page.locator("#match .score-home")).to_have_text("1")   # arrives live, not by reload
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    assert "token=" in page.locator("#match .view-link").get_attribute("href")
    assert not any(API_KEY in url for url in urls)


def test_console_renews_its_viewer_token_when_the_server_refuses_it(
    own_server: ServerProcess, page: Any,
) -> None:
    """After a restart the old token no longer verifies (close 1008): the console mints a new
    one and is live again without a reload."""
    server = own_server
    match_id = unique_id("private-renew")
    server.request("POST", "/api/matches", {"id": match_id, "home": "A", "away": "B", "private": True})
    server.post(match_id, {"type": "period_start"})
    mints: list[str] = []
    page.on("request", lambda r: mints.append(r.url)
            if r.method == "POST" and r.url.endswith("/tokens") else None)
    page.goto(f"{server.url}/console")
    page.evaluate(f"sessionStorage.setItem('scoreboard.consoleMatch', '{match_id}')")
    enter_key(page)
    conn = page.locator("#conn")
    expect(conn).to_have_attribute("data-state", "live")
    page.evaluate("window.__notReloaded = true")

    server.stop()
    expect(conn).not_to_have_attribute("data-state", "live")
    server.start()
    server.post(match_id, {"type": "goal", "team": "home", "player": "Back"})
    expect(conn).to_have_attribute("data-state", "live", timeout=15000)
    expect(page.locator("#match .score-home")).to_have_text("1", timeout=5000)
    assert len(mints) >= 2
    assert page.evaluate("window.__notReloaded") is True
