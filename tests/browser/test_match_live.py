"""The match page as a fan follows it: the minute ticking (on the server's time, across a
reconnect), added time, the countdown, the tab title, scorers, the shootout filling kick by kick,
substitutions and disallowed goals, and nothing "live" left on a finished match."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from .conftest import ServerProcess, expect, unique_id


# What a fan reads of the match page, hidden parts left out (the ticking clock excepted).
READ_PAGE = """() => [...document.querySelectorAll(
    ".hero .scoreline, .hero .status, .hero .result, .hero .scorers, #shootout, .linescore, #timeline li")]
  .map((el) => el.innerText.trim())"""


def reads_as_first_paint(page: Any) -> None:
    """What arrived live reads exactly as the page the server paints on a reload."""
    watched = page.evaluate(READ_PAGE)
    page.reload()
    expect(page.locator("#match")).to_be_visible()
    assert page.evaluate(READ_PAGE) == watched


def new_match(server: ServerProcess, prefix: str, home: str = "Argentina", away: str = "France",
              **fields: Any) -> str:
    match_id = unique_id(prefix)
    server.request("POST", "/api/matches", {"id": match_id, "home": home, "away": away, **fields})
    return match_id


def test_minute_ticks_through_stoppage_time_with_the_board(server: ServerProcess, page: Any) -> None:
    """A running clock advances on the page by itself (1' to 2'), past 45' into 45+1', with the
    fourth official's board (+4) beside it and the minute in the tab title."""
    match_id = new_match(server, "tick")
    server.post(match_id, {"type": "period_start"}, {"type": "clock", "action": "set", "elapsed": 56})
    page.goto(f"{server.url}/matches/{match_id}")
    clock = page.locator(".hero .clock")
    expect(clock).to_have_text("1'")
    expect(clock).to_have_text("2'", timeout=8000)
    server.post(match_id, {"type": "clock", "action": "set", "elapsed": 2696},
                {"type": "added_time", "minutes": 4})
    expect(clock).to_have_text("45'")
    expect(page.locator(".hero .added-time")).to_have_text("+4")
    expect(clock).to_have_text("45+1'", timeout=8000)
    expect(page).to_have_title("Argentina 0–0 France · 45+1' · Scoreboard")
    server.post(match_id, {"type": "period_end"})
    expect(clock).to_be_hidden()
    expect(page.locator(".hero .added-time")).to_be_hidden()
    expect(page.locator(".hero .status")).to_have_text("Half time")
    expect(page).to_have_title("Argentina 0–0 France · HT · Scoreboard")


def test_minute_is_the_servers_on_a_fast_clock_and_after_a_reconnect(
    own_server: ServerProcess, browser: Any,
) -> None:
    """A fan whose computer runs ten minutes fast sees the server's minute (21', not 31'), and
    still the right one (41', not 51') once the page has reconnected after a restart."""
    server = own_server
    match_id = new_match(server, "offset")
    server.post(match_id, {"type": "period_start"}, {"type": "clock", "action": "set", "elapsed": 1200})
    context = browser.new_context()
    try:
        page = context.new_page()
        page.clock.install(time=time.time() + 600)
        page.goto(f"{server.url}/matches/{match_id}?retry_base_ms=50&retry_cap_ms=400")
        clock = page.locator(".hero .clock")
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        expect(clock).to_have_text("21'")
        server.stop()
        expect(page.locator("#conn")).not_to_have_attribute("data-state", "live")
        server.start()
        server.post(match_id, {"type": "clock", "action": "set", "elapsed": 2400})
        expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10000)
        expect(clock).to_have_text("41'")
        page.wait_for_timeout(1500)   # a few more ticks on the fan's own (wrong) clock
        expect(clock).to_have_text("41'")
    finally:
        context.close()


def test_countdown_before_kickoff_ticks_and_gives_way_to_the_clock(server: ServerProcess, page: Any) -> None:
    """Before kickoff the page counts down to it ("Kick-off in 1:59:58"), second by second;
    at kickoff the countdown goes and the minute starts."""
    starts = datetime.now(timezone.utc) + timedelta(hours=2)
    match_id = new_match(server, "countdown", starts_at=starts.isoformat())
    page.goto(f"{server.url}/matches/{match_id}")
    countdown = page.locator(".countdown")
    expect(countdown).to_have_text(re.compile(r"^Kick-off in 1:59:\d\d$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3000)
    server.post(match_id, {"type": "period_start"})
    expect(countdown).to_be_hidden()
    expect(page.locator(".hero .clock")).to_have_text("1'")
    expect(page.locator(".hero .score")).to_be_visible()


def test_scorers_follow_goals_and_disallowed_goals_leave(server: ServerProcess, page: Any) -> None:
    """Scorers gather under each team with their minutes ("Messi 23' (pen.), 36'"), an own goal
    under the team it counted for; a retracted goal leaves the list and reads Disallowed."""
    match_id = new_match(server, "scorers")
    server.post(match_id, {"type": "period_start"},
                {"type": "goal", "team": "home", "player": "Messi", "minute": 23, "penalty": True})
    page.goto(f"{server.url}/matches/{match_id}")
    home, away = page.locator(".scorers-home li"), page.locator(".scorers-away li")
    expect(home).to_have_text(["Messi 23' (pen.)"])
    server.post(match_id, {"type": "goal", "team": "home", "player": "Messi", "minute": 36},
                {"type": "goal", "team": "away", "player": "Otamendi", "minute": 40, "own_goal": True},
                {"type": "goal", "team": "home", "player": "Álvarez", "minute": 44})
    expect(home).to_have_text(["Messi 23' (pen.), 36'", "Álvarez 44'"])
    expect(away).to_have_text(["Otamendi 40' (o.g.)"])
    server.post(match_id, {"type": "retract", "target": 5, "reason": "offside"})
    expect(home).to_have_text(["Messi 23' (pen.), 36'"])
    goal = page.locator('#timeline li[data-seq="5"]')
    expect(goal).to_have_class("ev ev-goal retracted")
    expect(goal.locator(".ev-note")).to_have_text("Disallowed")
    expect(goal.locator(".ev-note")).to_be_visible()
    expect(page.locator("#match .score-home")).to_have_text("2")
    expect(page).to_have_title("Argentina 2–1 France · 1' · Scoreboard")
    reads_as_first_paint(page)


def test_substitution_and_added_time_show_in_the_timeline(server: ServerProcess, page: Any) -> None:
    """A substitution reads who came on and who went off, each marked; the board reads
    "4 minutes of added time" at 45'; clock corrections stay out of the timeline."""
    match_id = new_match(server, "subs")
    server.post(match_id, {"type": "period_start"})
    page.goto(f"{server.url}/matches/{match_id}")
    server.post(match_id, {"type": "clock", "action": "set", "elapsed": 2640},
                {"type": "substitution", "team": "away", "player_in": "Thuram", "player_out": "Giroud"},
                {"type": "added_time", "minutes": 4})
    sub = page.locator("#timeline li.ev-substitution")
    expect(sub.locator(".ev-title")).to_have_text("Substitution · France")
    expect(sub.locator(".sub-in")).to_have_text("On: Thuram")
    expect(sub.locator(".sub-out")).to_have_text("Off: Giroud")
    expect(sub.locator(".ev-minute")).to_have_text("45'")
    expect(sub.locator(".ev-icon")).to_have_attribute("aria-label", "Substitution")
    expect(sub.locator(".ev-icon use")).to_have_attribute("href", "#icon-substitution")
    assert page.locator("#icon-substitution").count() == 1   # a drawn symbol, not an emoji
    board = page.locator("#timeline li.ev-added_time")
    expect(board.locator(".ev-title")).to_have_text("4 minutes of added time")
    expect(board.locator(".ev-minute")).to_have_text("45'")
    expect(board.locator(".ev-icon use")).to_have_attribute("href", "#icon-added_time")
    expect(page.locator("#timeline li.ev-clock")).to_have_count(0)
    expect(page.locator("#timeline li")).to_have_count(3)
    reads_as_first_paint(page)


def kicks(page: Any, side: str) -> list[str]:
    return page.locator(f'.so-row[data-side="{side}"] .kick').evaluate_all(
        "marks => marks.map(m => m.classList[1])")


def test_shootout_panel_fills_kick_by_kick_and_ends_with_the_result(server: ServerProcess, page: Any) -> None:
    """Each kick lands in order on its team's row as it is taken (scored or missed, five places
    a side while it is on), the shootout score beside it; at the end the result line reads
    "Argentina win 4–2 on penalties", the live badge and "Notify me" are gone."""
    match_id = new_match(server, "shootout")
    server.post(match_id, {"type": "period_start", "period": 1}, {"type": "period_end"},
                {"type": "period_start", "period": 2}, {"type": "period_end"},
                {"type": "period_start", "period": 3}, {"type": "period_end"},
                {"type": "period_start", "period": 4}, {"type": "period_end"})
    page.goto(f"{server.url}/matches/{match_id}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator(".notify-toggle")).to_be_visible()
    panel = page.locator("#shootout")
    expect(panel).to_be_hidden()
    server.post(match_id, {"type": "period_start", "period": 5})
    expect(panel).to_be_visible()
    expect(page.locator(".hero .status")).to_have_text("Penalties")
    assert kicks(page, "home") == ["pending"] * 5
    order = [("away", "Mbappé", True), ("home", "Messi", True), ("away", "Coman", False),
             ("home", "Dybala", True), ("away", "Tchouaméni", False), ("home", "Paredes", True),
             ("away", "Kolo Muani", True), ("home", "Montiel", True)]
    taken: dict[str, list[str]] = {"home": [], "away": []}
    for side, player, scored in order:
        server.post(match_id, {"type": "shootout_kick", "team": side, "player": player, "scored": scored})
        taken[side].append("scored" if scored else "missed")
        expected = taken[side] + ["pending"] * (5 - len(taken[side]))
        expect(page.locator(f'.so-row[data-side="{side}"] .kick')).to_have_count(5)
        page.wait_for_function(
            "([side, want]) => [...document.querySelectorAll(`.so-row[data-side=${side}] .kick`)]"
            ".map(m => m.classList[1]).join() === want.join()", arg=[side, expected])
    expect(page.locator('.so-row[data-side="home"] .so-score')).to_have_text("4")
    expect(page.locator('.so-row[data-side="away"] .so-score')).to_have_text("2")
    expect(page.locator(".so-rounds li").first).to_contain_text("Messi")
    expect(page.locator(".so-rounds li").first).to_contain_text("Mbappé")
    expect(page.locator("#match .score-home")).to_have_text("0")   # kicks are not goals
    server.post(match_id, {"type": "period_end", "final": True})
    expect(page.locator(".hero .result")).to_have_text("Argentina win 4–2 on penalties")
    expect(page.locator(".hero .status")).to_have_text("Pens")
    assert kicks(page, "home") == ["scored"] * 4 and kicks(page, "away") == ["scored", "missed", "missed", "scored"]
    expect(page.locator("#conn")).to_be_hidden()
    expect(page.locator(".notify-toggle")).to_have_count(0)
    expect(page).to_have_title("Argentina 0–0 France · Pens · Scoreboard")
    expect(page.locator("#timeline li").first).to_contain_text("Argentina win 4–2 on penalties")
    missed = page.locator("#timeline li.ev-shootout_kick").nth(3)
    expect(missed.locator(".ev-title")).to_have_text("Penalty missed · France")
    expect(missed.locator(".ev-icon use")).to_have_attribute("href", "#icon-kick_missed")

    page.reload()   # the first paint of a finished match: no badge, no button, same panel
    page.wait_for_timeout(1500)
    expect(page.locator("#conn")).to_be_hidden()
    expect(page.locator(".notify-toggle")).to_have_count(0)
    assert kicks(page, "home") == ["scored"] * 4


def test_basketball_page_shows_quarters_and_a_countdown_clock(server: ServerProcess, page: Any) -> None:
    """A basketball match reads Q3 with its clock counting down (10-minute FIBA quarters), the
    score per quarter, and timeline entries stamped "Q3 9:5x"; overtime adds its column."""
    match_id = new_match(server, "hoops", home="Real Madrid", away="Panathinaikos",
                         sport="basketball", period_minutes=10)
    server.post(match_id, {"type": "period_start", "period": 1},
                {"type": "points", "team": "home", "value": 3, "player": "Hezonja"}, {"type": "period_end"},
                {"type": "period_start", "period": 2},
                {"type": "points", "team": "away", "value": 2, "player": "Sloukas"}, {"type": "period_end"},
                {"type": "period_start", "period": 3})
    page.goto(f"{server.url}/matches/{match_id}")
    expect(page.locator(".hero .status")).to_have_text("Q3")
    clock = page.locator(".hero .clock")
    expect(clock).to_have_text(re.compile(r"^(10:00|9:5\d)$"))
    before = clock.inner_text()
    expect(clock).not_to_have_text(before, timeout=4000)
    after = clock.inner_text()
    assert after < before or before == "10:00", (before, after)   # it counts down
    headers = page.locator(".linescore thead th[data-period]")
    expect(headers).to_have_text(["Q1", "Q2", "Q3", "Q4"])
    home = page.locator('.linescore tr[data-side="home"] td')
    expect(home).to_have_text(["3", "0", "0", "", "3"])
    server.post(match_id, {"type": "points", "team": "home", "value": 2, "player": "Tavares"})
    expect(home).to_have_text(["3", "0", "2", "", "5"])
    first = page.locator("#timeline li").first
    expect(first.locator(".ev-minute")).to_have_text(re.compile(r"^Q3 (10:00|9:\d\d)$"))
    expect(first.locator(".ev-title")).to_have_text("+2 · Real Madrid")
    server.post(match_id, {"type": "period_end"}, {"type": "period_start", "period": 4},
                {"type": "period_end"}, {"type": "period_start", "period": 5})
    expect(page.locator(".hero .status")).to_have_text("OT")
    expect(headers).to_have_text(["Q1", "Q2", "Q3", "Q4", "OT"])
    expect(clock).to_have_text(re.compile(r"^(5:00|4:5\d)$"))
    server.post(match_id, {"type": "period_end"}, {"type": "period_start", "period": 6})
    expect(headers).to_have_text(["Q1", "Q2", "Q3", "Q4", "OT", "2OT"])
    expect(clock).to_have_text(re.compile(r"^(5:00|4:5\d)$"))
    reads_as_first_paint(page)
