"""Whole matches scored through the console: a football final with extra time and a shootout,
created with its fixture fields, and a basketball game into overtime; the buttons are the
sport's own and appear only when they apply."""
from __future__ import annotations

import re
import time
from typing import Any

from .conftest import API_KEY, ServerProcess, expect, unique_id
from .layout import new_context

# Period buttons share one double-tap window (static/console-press.js): presses of two of
# them in a row are a scorekeeper's deliberate steps, further apart than that.
STEP_MS = 550


def flow_labels(page: Any) -> list[str]:
    return [label.strip() for label in page.locator("#flow button").evaluate_all(
        "(buttons) => buttons.map((b) => b.firstChild.textContent)")]


_last_press: dict[str, float] = {}


def wait_past_double_tap(group: str) -> None:
    """Two presses of one group less than the double-tap window apart are one press: wait
    until the last click of `group` (timed once it was made) is far enough back."""
    since = time.monotonic() - _last_press.get(group, 0.0)
    if since < STEP_MS / 1000:
        time.sleep(STEP_MS / 1000 - since)


def clicked(group: str) -> None:
    _last_press[group] = time.monotonic()


def step(page: Any, label: str) -> None:
    """Press the period button `label` (it must be one of those shown) and wait until sent."""
    wait_past_double_tap("flow")
    button = page.locator(f'#flow button[data-label="{label}"]')
    expect(button).to_be_visible()
    button.click()
    clicked("flow")
    expect(page.locator("#outbox")).to_be_hidden()


def press_group(page: Any, selector: str) -> str:
    """The console's own grouping (static/console-press.js pressGroup): a kick pad's scored
    and missed buttons for one side are one group, so a miss then a goal by that side less
    than the window apart is one press."""
    return page.locator(selector).evaluate(
        "(b) => b.dataset.group || [b.dataset.action, b.dataset.team].filter(Boolean).join(':')")


def tap(page: Any, selector: str) -> None:
    group = press_group(page, selector)
    wait_past_double_tap(group)
    page.click(selector)
    clicked(group)
    expect(page.locator("#outbox")).to_be_hidden()


def test_a_football_final_with_extra_time_and_a_shootout(browser: Any, server: ServerProcess) -> None:
    """Created with competition, stage, local kickoff and venue; kick off, goals without a
    minute, a clock correction and added time, half time, extra time, penalties kick by kick:
    the console and the API agree that Argentina won 4-2 on penalties."""
    context = new_context(browser, 390, timezone_id="America/New_York")
    page = context.new_page()
    try:
        page.goto(f"{server.url}/console")
        page.fill("#api-key", API_KEY)
        page.click("#key-form button[type=submit]")
        match_id = unique_id("final")
        page.click("#create-details summary")
        expect(page.locator("#kickoff-zone")).to_contain_text("America/New_York")
        page.fill("#new-home", "Argentina")
        page.fill("#new-away", "France")
        page.fill("#new-competition", "World Cup")
        page.fill("#new-stage", "Final")
        page.fill("#new-kickoff", "2030-07-21T10:00")
        page.fill("#new-venue", "MetLife Stadium")
        page.fill("#new-id", match_id)
        page.click("#create-form button[type=submit]")
        expect(page.locator("#match-select")).to_have_value(match_id)
        created = server.match(match_id)
        assert (created["competition"], created["stage"], created["venue"], created["sport"]) == (
            "World Cup", "Final", "MetLife Stadium", "football")
        assert created["starts_at"] == "2030-07-21T14:00:00Z"   # 10:00 in New York (EDT)
        expect(page.locator("#match-context")).to_contain_text("World Cup · Final · MetLife Stadium")

        assert flow_labels(page) == ["Kick off"]
        expect(page.locator("#scoring")).to_be_hidden()
        step(page, "Kick off")
        expect(page.locator("#match .status")).to_have_text("1st half")
        expect(page.locator("#match .clock")).to_have_text("1'")
        page.fill("#ev-player", "Messi")
        page.check("#ev-penalty")
        tap(page, '#score-pad button[data-team="home"]')
        page.fill("#clock-set", "45")
        tap(page, 'button[data-action="clock_set"]')
        expect(page.locator("#match .clock")).to_have_text("45'")
        page.fill("#added-minutes", "3")
        tap(page, 'button[data-action="added_time"]')
        expect(page.locator("#match .added-time")).to_have_text("+3")
        page.fill("#clock-set", "45+2")
        tap(page, 'button[data-action="clock_set"]')
        expect(page.locator("#match .clock")).to_have_text("45+2'")
        page.fill("#ev-player", "Di María")
        page.fill("#ev-assist", "Mac Allister")
        tap(page, '#score-pad button[data-team="home"]')
        assert flow_labels(page) == ["Half time"]
        step(page, "Half time")
        expect(page.locator("#match .status")).to_have_text("Half time")
        expect(page.locator("#scoring")).to_be_hidden()
        page.fill("#sub-off", "Dembélé")
        page.fill("#sub-on", "Kolo Muani")
        page.select_option("#sub-team", "away")
        tap(page, 'button[data-action="substitution"]')
        step(page, "Second half")
        tap(page, '#score-pad button[data-team="away"]')
        page.fill("#ev-player", "Enzo")
        tap(page, '#card-pad button[data-team="home"][data-color="yellow"]')
        tap(page, '#score-pad button[data-team="away"]')
        assert flow_labels(page) == ["Full time", "End of normal time"]
        step(page, "End of normal time")
        assert flow_labels(page) == ["Extra time", "Penalties", "Full time"]
        step(page, "Extra time")
        expect(page.locator("#match .status")).to_have_text("Extra time")
        expect(page.locator("#match .clock")).to_have_text("91'")
        step(page, "Extra time half time")
        assert flow_labels(page) == ["Extra time"]
        step(page, "Extra time")
        tap(page, '#score-pad button[data-team="home"]')
        tap(page, '#score-pad button[data-team="away"]')
        assert flow_labels(page) == ["Full time", "End of extra time"]
        step(page, "End of extra time")
        assert flow_labels(page) == ["Penalties", "Full time"]
        step(page, "Penalties")
        expect(page.locator("#scoring")).to_be_hidden()
        expect(page.locator("#shootout")).to_be_visible()
        kicks = [("away", True), ("home", True), ("away", False), ("home", True),
                 ("away", False), ("home", True), ("away", True), ("home", True)]
        for side, scored in kicks:
            tap(page, f'#kick-pad button[data-team="{side}"].{"kick-scored" if scored else "kick-missed"}')
        expect(page.locator("#shootout .so-row[data-side=home] .so-score")).to_have_text("4")
        expect(page.locator("#shootout .so-row[data-side=away] .so-score")).to_have_text("2")
        expect(page.locator("#match .score-home")).to_have_text("3")
        step(page, "End shootout")
        expect(page.locator("#match .result")).to_have_text("Argentina win 4–2 on penalties")
        expect(page.locator("#match .status")).to_have_text("Pens")
        assert flow_labels(page) == []

        final = server.match(match_id)
        assert final["score"] == {"home": 3, "away": 3}
        assert (final["winner"], final["decided_by"]) == ("home", "penalties")
        assert (final["shootout"]["home"], final["shootout"]["away"]) == (4, 2)
        events = server.events(match_id)
        scored = [(g["team"], g.get("player"), g["minute_label"]) for g in events if g["type"] == "goal"]
        assert scored == [("home", "Messi", "1'"), ("home", "Di María", "45+2'"), ("away", None, "46'"),
                          ("away", None, "46'"), ("home", None, "106'"), ("away", None, "106'")]
        goal = next(e for e in events if e.get("player") == "Di María")
        assert goal["assist"] == "Mac Allister"
        sub = next(e for e in events if e["type"] == "substitution")
        assert (sub["team"], sub["player_out"], sub["player_in"]) == ("away", "Dembélé", "Kolo Muani")
        assert [e["period"] for e in events if e["type"] == "period_start"] == [1, 2, 3, 4, 5]
    finally:
        context.close()


def test_a_basketball_game_into_overtime(server: ServerProcess, page: Any) -> None:
    """Quarters by name, +1/+2/+3 per team, a countdown clock, a tie after Q4 played into
    overtime, and the final."""
    match_id = unique_id("hoops")
    server.request("POST", "/api/matches", {"id": match_id, "home": "Lakers", "away": "Celtics",
                                            "sport": "basketball", "period_minutes": 12})
    page.goto(f"{server.url}/console")
    page.evaluate(f"sessionStorage.setItem('scoreboard.apiKey', '{API_KEY}');"
                  f"sessionStorage.setItem('scoreboard.consoleMatch', '{match_id}')")
    page.reload()
    expect(page.locator("#match .team.home")).to_have_text("Lakers")
    assert flow_labels(page) == ["Tip-off"]
    step(page, "Tip-off")
    expect(page.locator("#match .status")).to_have_text("Q1")
    expect(page.locator("#match .clock")).to_have_text(re.compile(r"^1[12]:\d\d$"))
    expect(page.locator("#score-pad button")).to_have_count(6)
    expect(page.locator("#cards")).to_be_hidden()   # no cards in basketball
    tap(page, '#score-pad button[data-team="home"][data-value="3"]')
    tap(page, "#clock-toggle")   # a timeout: the clock stops
    expect(page.locator("#clock-toggle")).to_have_text("Start clock")
    page.fill("#clock-set", "4:12")
    tap(page, 'button[data-action="clock_set"]')
    expect(page.locator("#match .clock")).to_have_text("4:12")
    page.wait_for_timeout(1100)
    expect(page.locator("#match .clock")).to_have_text("4:12")   # stopped means stopped
    tap(page, '#score-pad button[data-team="away"][data-value="2"]')
    step(page, "End of Q1")
    for quarter in (2, 3, 4):
        step(page, f"Start Q{quarter}")
        if quarter == 4:
            tap(page, '#score-pad button[data-team="away"][data-value="1"]')
            assert flow_labels(page) == ["Final", "End of Q4"]
            step(page, "End of Q4")
        else:
            step(page, "Half time" if quarter == 2 else f"End of Q{quarter}")
    expect(page.locator("#match .score-home")).to_have_text("3")
    expect(page.locator("#match .score-away")).to_have_text("3")
    assert flow_labels(page) == ["Overtime", "Final"]
    step(page, "Overtime")
    expect(page.locator("#match .status")).to_have_text("OT")
    expect(page.locator("#match .clock")).to_have_text(re.compile(r"^[45]:\d\d$"))
    tap(page, '#score-pad button[data-team="home"][data-value="2"]')
    step(page, "Final")
    expect(page.locator("#match .status")).to_have_text("Final/OT")
    final = server.match(match_id)
    assert final["score"] == {"home": 5, "away": 3}
    assert (final["winner"], final["decided_by"]) == ("home", "overtime")
    points = [(e["team"], e["value"], e["minute_label"]) for e in server.events(match_id) if e["type"] == "points"]
    assert points[0][:2] == ("home", 3) and points[0][2] in ("Q1 12:00", "Q1 11:59")
    assert points[1] == ("away", 2, "Q1 4:12")
