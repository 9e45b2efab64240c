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


def scene(server: ServerProcess, state: str) -> str:
    """A match with long names, live in the 1st half or into its penalty shootout."""
    match_id = unique_id(f"layout-{state}")
    server.request("POST", "/api/matches", {
        "id": match_id, "home": "Borussia Mönchengladbach", "away": "Wolverhampton Wanderers",
        "competition": "UEFA Europa Conference League", "stage": "Quarter-final", "venue": "Borussia-Park",
        "starts_at": "2030-04-10T19:00:00Z"})
    server.post(match_id, {"type": "period_start", "period": 1},
                {"type": "goal", "team": "home", "player": "Alassane Pléa", "assist": "Florian Neuhaus"},
                {"type": "card", "team": "away", "color": "yellow", "player": "João Gomes"},
                {"type": "added_time", "minutes": 2})
    if state == "shootout":
        server.post(match_id, {"type": "period_end"}, {"type": "period_start", "period": 2},
                    {"type": "goal", "team": "away", "player": "Hwang Hee-chan"}, {"type": "period_end"},
                    {"type": "period_start", "period": 5},
                    {"type": "shootout_kick", "team": "home", "player": "Pléa", "scored": True},
                    {"type": "shootout_kick", "team": "away", "player": "Cunha", "scored": False})
    return match_id


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("state", ["live", "shootout"])
def test_the_console_fits_phone_and_laptop(browser: Any, server: ServerProcess, state: str, width: int) -> None:
    """No overflow, whole team names, buttons a thumb can hit, and a queued press shown."""
    match_id = scene(server, state)
    context = new_context(browser, width)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/console")
        page.evaluate(f"sessionStorage.setItem('scoreboard.apiKey', '{API_KEY}');"
                      f"sessionStorage.setItem('scoreboard.consoleMatch', '{match_id}')")
        page.reload()
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        expect(page.locator("#match .team.home")).to_have_text("Borussia Mönchengladbach")
        if state == "live":
            page.fill("#ev-player", "Kouadio Koné")
            # A press that cannot be sent yet: the "waiting to send" line is part of the layout.
            page.route("**/api/matches/*/events", lambda route: route.abort("internetdisconnected"))
            page.click('#card-pad button[data-team="home"][data-color="yellow"]')
            expect(page.locator("#outbox")).to_contain_text("1 waiting to send")
            expect(page.locator("#flow button")).to_have_text(["Half time"])
        else:
            expect(page.locator("#kick-pad button")).to_have_count(4)
            expect(page.locator("#flow button")).to_have_count(1)
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
    finally:
        context.close()
