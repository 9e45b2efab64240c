"""The scorekeeper console: one press is one event, undo names what it undoes, presses survive
a bad connection and a reload, API errors in plain words, private matches followed live."""
from __future__ import annotations

import json
import time
from typing import Any

from .conftest import API_KEY, ServerProcess, expect, unique_id

# Longer than the console's double-tap window (static/console-press.js): a deliberate press.
DELIBERATE_MS = 800


def open_console(page: Any, server: ServerProcess, match_id: str | None = None) -> None:
    """Open /console with the test key for this tab and, if given, the match selected."""
    page.goto(f"{server.url}/console")
    script = f"sessionStorage.setItem('scoreboard.apiKey', '{API_KEY}');"
    if match_id:
        script += f"sessionStorage.setItem('scoreboard.consoleMatch', '{match_id}');"
    page.evaluate(script)
    page.reload()
    if match_id:
        expect(page.locator("#match .team.home")).to_have_text(server.request("GET", f"/api/matches/{match_id}")["home"])
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def live_match(server: ServerProcess, prefix: str, **fields: Any) -> str:
    match_id = unique_id(prefix)
    server.request("POST", "/api/matches", {"id": match_id, "home": "Reds", "away": "Blues", **fields})
    server.post(match_id, {"type": "period_start", "period": 1})
    return match_id


def goal_button(page: Any, side: str) -> Any:
    return page.locator(f'#score-pad button[data-action="goal"][data-team="{side}"]')


def double_click(page: Any, locator: Any, gap_ms: int) -> None:
    """Two clicks on the same spot `gap_ms` apart, as a person's finger makes them: each goes
    to whatever is under the finger when the page handles it (after "Kick off" that is
    "Half time"). The clicks are real input through the DevTools protocol, stamped with the
    moments the finger touched, as a touch screen stamps them: on a loaded test machine the
    page may handle the second one late, as a busy phone would, and the console must judge
    by the stamp (event.timeStamp), not by when it got round to the click."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    devtools = page.context.new_cdp_session(page)
    first_touch = time.time()
    try:
        for touched in (first_touch, first_touch + gap_ms / 1000):
            time.sleep(max(0.0, touched - time.time()))
            for kind in ("mousePressed", "mouseReleased"):
                devtools.send("Input.dispatchMouseEvent", {
                    "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1,
                    "timestamp": touched})
    finally:
        devtools.detach()


def settled(page: Any) -> None:
    """Everything pressed has been sent (the outbox is empty)."""
    expect(page.locator("#outbox")).to_be_hidden()


def goals(server: ServerProcess, match_id: str) -> list[dict[str, Any]]:
    return [e for e in server.events(match_id) if e["type"] == "goal"]


def test_a_double_click_on_goal_records_one_goal(server: ServerProcess, page: Any) -> None:
    """Two clicks 60 ms and 250 ms apart are one goal each time; two presses well apart are two."""
    match_id = live_match(server, "double")
    open_console(page, server, match_id)
    home = goal_button(page, "home")
    double_click(page, home, 60)
    expect(page.locator("#match .score-home")).to_have_text("1")
    page.wait_for_timeout(DELIBERATE_MS)
    double_click(page, home, 250)
    expect(page.locator("#match .score-home")).to_have_text("2")
    settled(page)
    page.wait_for_timeout(300)   # room for a second post, were one (wrongly) sent
    assert [g["team"] for g in goals(server, match_id)] == ["home", "home"]

    page.wait_for_timeout(DELIBERATE_MS)
    home.click()
    page.wait_for_timeout(DELIBERATE_MS)
    home.click()
    expect(page.locator("#match .score-home")).to_have_text("4")
    settled(page)
    recorded = goals(server, match_id)
    assert len(recorded) == 4
    assert all(not g["id"].startswith("srv-") for g in recorded)   # the console's own ids
    assert all(g["minute"] == 1 and g["minute_label"] == "1'" for g in recorded)  # no typing
    assert server.match(match_id)["score"] == {"home": 4, "away": 0}


def test_a_double_click_on_kick_off_does_not_also_end_the_half(server: ServerProcess, page: Any) -> None:
    """The second click of a double click lands on "Half time", which replaced "Kick off"
    under the finger: it is the same press, and the half goes on."""
    match_id = unique_id("kickoff")
    server.request("POST", "/api/matches", {"id": match_id, "home": "Reds", "away": "Blues"})
    open_console(page, server, match_id)
    kick_off = page.locator('#flow button[data-label="Kick off"]')
    double_click(page, kick_off, 150)
    expect(page.locator("#match .status")).to_have_text("1st half")
    expect(page.locator('#flow button[data-label="Half time"]')).to_be_visible()
    settled(page)
    page.wait_for_timeout(300)
    assert [e["type"] for e in server.events(match_id)] == ["period_start"]


def test_undo_names_and_retracts_the_last_event(server: ServerProcess, page: Any) -> None:
    """Undo reads "Undo goal Messi 1'" and retracts that goal; the next undo names the event
    before it."""
    match_id = live_match(server, "undo")
    server.post(match_id, {"type": "goal", "team": "away", "player": "Mbappé", "minute": 12})
    open_console(page, server, match_id)
    page.fill("#ev-player", "Messi")
    page.check("#ev-penalty")
    goal_button(page, "home").click()
    expect(page.locator("#match .score-home")).to_have_text("1")
    undo = page.locator("#undo")
    expect(undo).to_have_text("Undo goal Messi (pen.) 1'")
    undo.click()
    expect(page.locator("#match .score-home")).to_have_text("0")
    expect(undo).to_have_text("Undo goal Mbappé 12'")
    settled(page)
    events = server.events(match_id)
    messi = next(e for e in events if e.get("player") == "Messi")
    assert messi["penalty"] is True
    assert events[-1]["type"] == "retract" and events[-1]["target"] == messi["seq"]
    assert server.match(match_id)["score"] == {"home": 0, "away": 1}
    expect(page.locator(f'#timeline li[data-seq="{messi["seq"]}"]')).to_have_class("ev ev-goal retracted")


def test_presses_offline_wait_in_order_and_are_sent_once_on_reconnect(
    server: ServerProcess, page: Any,
) -> None:
    """Offline, presses queue in the order made with a visible count; back online they are
    sent in that order, each once."""
    match_id = live_match(server, "offline")
    open_console(page, server, match_id)
    page.context.set_offline(True)
    goal_button(page, "home").click()
    page.click('#card-pad button[data-team="away"][data-color="yellow"]')
    goal_button(page, "away").click()
    outbox = page.locator("#outbox")
    expect(outbox).to_contain_text("3 waiting to send")
    # Undo while offline takes out the last press, queued behind it.
    expect(page.locator("#undo")).to_have_text("Undo goal Blues (not sent yet)")
    page.wait_for_timeout(600)
    assert [e["type"] for e in server.events(match_id)] == ["period_start"]

    page.context.set_offline(False)
    settled(page)
    expect(page.locator("#match .score-home")).to_have_text("1")
    events = server.events(match_id)
    assert [(e["type"], e.get("team")) for e in events] == [
        ("period_start", None), ("goal", "home"), ("card", "away"), ("goal", "away")]
    assert server.match(match_id)["score"] == {"home": 1, "away": 1}


def test_queued_presses_survive_a_reload(server: ServerProcess, page: Any) -> None:
    """Presses that could not be sent are still queued after a reload and are sent, once each,
    when the server can be reached again."""
    match_id = live_match(server, "reload")
    open_console(page, server, match_id)
    page.route("**/api/matches/*/events", lambda route: route.abort("internetdisconnected"))
    goal_button(page, "home").click()
    page.wait_for_timeout(DELIBERATE_MS)
    goal_button(page, "home").click()
    expect(page.locator("#outbox")).to_contain_text("2 waiting to send")
    page.reload()
    expect(page.locator("#outbox")).to_contain_text("2 waiting to send")
    stored = page.evaluate("JSON.parse(localStorage.getItem('scoreboard.outbox'))")
    assert [entry["body"]["type"] for entry in stored] == ["goal", "goal"]
    assert len({entry["body"]["id"] for entry in stored}) == 2
    page.unroute("**/api/matches/*/events")
    page.evaluate("dispatchEvent(new Event('online'))")   # what the browser says on reconnect
    settled(page)
    expect(page.locator("#match .score-home")).to_have_text("2")
    assert [g["id"] for g in goals(server, match_id)] == [entry["body"]["id"] for entry in stored]


def test_a_press_whose_answer_is_lost_is_resent_with_the_same_id(server: ServerProcess, page: Any) -> None:
    """The server stores the goal but the answer never arrives: the resend carries the same
    event id, and the goal counts once."""
    match_id = live_match(server, "retry")
    open_console(page, server, match_id)
    bodies: list[str] = []

    def lose_first_answer(route: Any) -> None:
        bodies.append(route.request.post_data or "")
        if len(bodies) == 1:
            route.fetch()                     # the server stores the goal...
            route.abort("connectionreset")    # ...but its answer is lost on the way back
        else:
            route.continue_()

    page.route("**/api/matches/*/events", lose_first_answer)
    goal_button(page, "home").click()
    expect(page.locator("#console-msg")).to_contain_text("already recorded", timeout=8000)
    assert len(bodies) == 2 and json.loads(bodies[0]) == json.loads(bodies[1])
    assert server.match(match_id)["score"] == {"home": 1, "away": 0}


def test_api_errors_are_explained_and_a_refused_key_keeps_the_press(
    server: ServerProcess, page: Any,
) -> None:
    """A refusal shows the API's own reason; a wrong key asks for the key again and the
    waiting press is sent once a valid one is given."""
    match_id = live_match(server, "errors")
    open_console(page, server, match_id)
    # Another scorekeeper ends the match while this console still shows it live.
    page.route("**/api/matches/*/events", lambda route: route.abort("internetdisconnected"))
    goal_button(page, "home").click()
    server.post(match_id, {"type": "period_end", "final": True})
    page.unroute("**/api/matches/*/events")
    page.evaluate("dispatchEvent(new Event('online'))")
    expect(page.locator("#console-msg")).to_contain_text("Goal for Reds was not recorded. This match is over")
    settled(page)
    expect(page.locator("#flow button")).to_have_count(0)

    other = live_match(server, "wrong-key")
    page.evaluate(f"sessionStorage.setItem('scoreboard.apiKey', 'not-the-key');"
                  f"sessionStorage.setItem('scoreboard.consoleMatch', '{other}')")
    page.reload()
    goal_button(page, "away").click()
    expect(page.locator("#console-msg")).to_contain_text("API key was not accepted")
    expect(page.locator("#api-key")).to_be_visible()
    expect(page.locator("#outbox")).to_contain_text("1 waiting to send")
    page.fill("#api-key", API_KEY)
    page.click("#key-form button[type=submit]")
    # The waiting press goes once the key is accepted (the outbox may look empty for a moment
    # while the console starts again with the new key, so wait for the goal itself).
    expect(page.locator("#match .score-away")).to_have_text("1")
    settled(page)
    assert server.match(other)["score"] == {"home": 0, "away": 1}


def test_console_follows_a_private_match_live_with_a_viewer_token(
    server: ServerProcess, page: Any,
) -> None:
    """For a private match the console mints a viewer token with its key and goes live on it;
    the key itself never appears in a URL."""
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.on("websocket", lambda ws: urls.append(ws.url))
    match_id = unique_id("private-console")
    server.request("POST", "/api/matches", {"id": match_id, "home": "Secret Reds", "away": "Hidden Blues",
                                            "private": True})
    server.post(match_id, {"type": "period_start"})
    open_console(page, server, match_id)
    assert any("/ws?" in u and "token=" in u for u in urls), urls
    goal_button(page, "away").click()
    expect(page.locator("#match .score-away")).to_have_text("1")
    server.post(match_id, {"type": "goal", "team": "home"})
    expect(page.locator("#match .score-home")).to_have_text("1")   # arrives live, not by reload
    assert "token=" in page.locator("#match .view-link").get_attribute("href")
    assert not any(API_KEY in url for url in urls)
