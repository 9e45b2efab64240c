"""The console on a 390 px phone and a 1280 px laptop: nothing overflows, names break only
between words, touch targets are large; screenshots land in tests/browser/artifacts/ for a
person to look at (console-<state>-<width>.png)."""
from __future__ import annotations

from typing import Any

import pytest

from .conftest import API_KEY, ARTIFACTS, ServerProcess, expect, unique_id
from .layout import PHONE, WIDTHS, new_context, overflow_problems, team_name_problems

BOXES = (".console-match", ".flow", ".pad", ".shootout", ".timeline", "fieldset", ".outbox")
# Apple and Google both ask for 44-48 px: a thumb at a cold ground needs at least that.
MIN_TARGET_PX = 44


def live_match(server: ServerProcess) -> str:
    """A match with long names, live in the 1st half."""
    match_id = unique_id("layout")
    server.request("POST", "/api/matches", {
        "id": match_id, "home": "Borussia Mönchengladbach", "away": "Wolverhampton Wanderers",
        "competition": "UEFA Europa Conference League", "stage": "Quarter-final", "venue": "Borussia-Park",
        "starts_at": "2030-04-10T19:00:00Z"})
    server.post(match_id, {"type": "period_start", "period": 1},
                {"type": "goal", "team": "home", "player": "Alassane Pléa", "assist": "Florian Neuhaus"},
                {"type": "card", "team": "away", "color": "yellow", "player": "João Gomes"},
                {"type": "added_time", "minutes": 2})
    return match_id


def check(page: Any, state: str, width: int) -> None:
    """Screenshot, then: no overflow, whole team names, buttons a thumb can hit."""
    expect(page.locator("#match .flash")).to_have_count(0)   # a new score's flash grows it a moment
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{state}-{width}.png"), full_page=True)
    assert overflow_problems(page, BOXES) == []
    problems, count = team_name_problems(page)
    assert problems == [] and count >= 4
    small = page.locator("#control-panel button:visible").evaluate_all(
        f"(buttons) => buttons.filter((b) => b.getBoundingClientRect().height < {MIN_TARGET_PX})"
        ".map((b) => b.textContent.trim())")
    assert small == []
    if width == PHONE:
        # Home's and away's goal (or kick) buttons sit side by side, within reach.
        pad = "#score-pad" if state == "live" else "#kick-pad"
        boxes = page.locator(f"{pad} button").evaluate_all(
            "(buttons) => buttons.map((b) => b.getBoundingClientRect().toJSON())")
        assert boxes[0]["top"] == boxes[1]["top"] and boxes[0]["width"] >= 150


@pytest.mark.parametrize("width", WIDTHS)
def test_the_console_fits_phone_and_laptop(browser: Any, server: ServerProcess, width: int) -> None:
    """Live with a press waiting to be sent, then in the penalty shootout: the console fits."""
    match_id = live_match(server)
    context = new_context(browser, width)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/console")
        page.evaluate(f"sessionStorage.setItem('scoreboard.apiKey', '{API_KEY}');"
                      f"sessionStorage.setItem('scoreboard.consoleMatch', '{match_id}')")
        page.reload()
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        expect(page.locator("#match .team.home")).to_have_text("Borussia Mönchengladbach")
        page.fill("#ev-player", "Kouadio Koné")
        # A press that cannot be sent yet: the "waiting to send" line is part of the layout.
        page.route("**/api/matches/*/events", lambda route: route.abort("internetdisconnected"))
        page.click('#card-pad button[data-team="home"][data-color="yellow"]')
        expect(page.locator("#outbox")).to_contain_text("1 waiting to send")
        expect(page.locator("#flow button")).to_have_text(["Half time"])
        page.click("#create-details summary")   # the fixture fields are part of the page too
        expect(page.locator("#new-kickoff")).to_be_visible()
        check(page, "live", width)

        page.unroute("**/api/matches/*/events")
        page.evaluate("dispatchEvent(new Event('online'))")
        expect(page.locator("#outbox")).to_be_hidden()
        server.post(match_id, {"type": "period_end"}, {"type": "period_start", "period": 2},
                    {"type": "goal", "team": "away", "player": "Hwang Hee-chan"}, {"type": "period_end"},
                    {"type": "period_start", "period": 5},
                    {"type": "shootout_kick", "team": "home", "player": "Pléa", "scored": True},
                    {"type": "shootout_kick", "team": "away", "player": "Cunha", "scored": False})
        expect(page.locator("#kick-pad button")).to_have_count(4)
        expect(page.locator("#shootout .so-row[data-side=away] .so-score")).to_have_text("0")
        expect(page.locator("#flow button")).to_have_text(["End shootoutfull time"])
        check(page, "shootout", width)
    finally:
        context.close()
