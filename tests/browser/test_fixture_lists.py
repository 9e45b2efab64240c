"""The home page and a competition's page: Live now, Upcoming by day and Results, grouped by
competition (or stage), cards moving as matches change, live minutes ticking, and the live
table following the scores."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from .conftest import ServerProcess, expect, unique_id
from .layout import new_context


def competition(server: ServerProcess, name: str, *fixtures: tuple[str, str, str, datetime | None]) -> list[str]:
    """Create fixtures (id prefix, home, away, kickoff) of one competition; their ids."""
    ids = []
    for prefix, home, away, starts in fixtures:
        match_id = unique_id(prefix)
        body: dict[str, Any] = {"id": match_id, "home": home, "away": away, "competition": name}
        if starts:
            body["starts_at"] = starts.isoformat()
        server.request("POST", "/api/matches", body)
        ids.append(match_id)
    return ids


def section_of(page: Any, match_id: str) -> str:
    return page.locator(f'li[data-match="{match_id}"]').evaluate(
        "li => li.closest('.fixture-section').dataset.section")


def test_cards_move_from_upcoming_to_live_to_results_with_a_ticking_minute(
    server: ServerProcess, page: Any,
) -> None:
    """A fixture sits under Upcoming in its competition's panel (linked to the competition's
    page); at kick-off it moves to Live now with its minute ticking, at full time to Results."""
    name = f"Test League {unique_id('l')}"
    soon = datetime.now(timezone.utc) + timedelta(hours=3)
    first, second = competition(server, name, ("tl-a", "Leeds United", "Hull City", soon),
                                ("tl-b", "Stoke City", "Derby County", soon + timedelta(days=2)))
    page.goto(f"{server.url}/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    card = page.locator(f'li[data-match="{first}"]')
    assert section_of(page, first) == "upcoming"
    group = card.locator("xpath=ancestor::section[contains(@class,'fixture-group')]")
    link = group.locator(".group-title a")
    expect(link).to_have_text(name)
    slug = link.get_attribute("href")
    assert slug and slug.startswith("/competitions/test-league-")

    server.post(first, {"type": "period_start"}, {"type": "clock", "action": "set", "elapsed": 56},
                {"type": "goal", "team": "home", "player": "Piroe"})
    page.wait_for_function(f"""() => document.querySelector('li[data-match="{first}"]')
        .closest('.fixture-section').dataset.section === 'live'""")
    live_group = card.locator("xpath=ancestor::section[contains(@class,'fixture-group')]")
    expect(live_group.locator(".group-title a")).to_have_text(name)
    expect(card.locator(".status")).to_have_text("1'")
    expect(card.locator(".status")).to_have_text("2'", timeout=8000)
    expect(card.locator(".score-home")).to_have_text("1")
    assert section_of(page, second) == "upcoming"   # its neighbour stays

    server.post(first, {"type": "period_end", "final": True})
    page.wait_for_function(f"""() => document.querySelector('li[data-match="{first}"]')
        .closest('.fixture-section').dataset.section === 'results'""")
    expect(card.locator(".status")).to_have_text("FT")
    expect(page.locator('[data-section="live"]').locator(f'li[data-match="{first}"]')).to_have_count(0)


@pytest.mark.parametrize("zone, heading", [
    ("Asia/Tokyo", "Wednesday, 19 June 2030"), ("America/Los_Angeles", "Tuesday, 18 June 2030"),
])
def test_upcoming_days_follow_the_viewers_time_zone(
    browser: Any, server: ServerProcess, zone: str, heading: str,
) -> None:
    """A kickoff at 23:30 UTC is listed under the day it is where the fan is: the next day in
    Tokyo, the same day in Los Angeles, at the local time."""
    match_id, = competition(server, f"Zone Cup {unique_id('z')}",
                            ("zone", "Japan", "USA", datetime(2030, 6, 18, 23, 30, tzinfo=timezone.utc)))
    context = new_context(browser, 1280, timezone_id=zone)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/")
        card = page.locator(f'li[data-match="{match_id}"]')
        day = card.locator("xpath=ancestor::div[contains(@class,'fixture-day')]")
        expect(day.locator(".day-title")).to_have_text(heading)
        expect(card.locator(".kickoff-time")).to_have_text("08:30" if zone == "Asia/Tokyo" else "16:30")
    finally:
        context.close()


def table_rows(page: Any, index: int = 0) -> list[list[str]]:
    """The rows as a fan reads them (a hidden "Live" marker is not read)."""
    return page.locator(f'.standings[data-table="{index}"] tbody tr').evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('td, th')].map(c => c.innerText.trim()))")


def api_rows(server: ServerProcess, slug: str, index: int = 0) -> list[list[str]]:
    table = server.request("GET", f"/api/competitions/{slug}/standings", key=None)["tables"][index]
    gd = lambda n: f"+{n}" if n > 0 else str(n)  # noqa: E731
    return [[str(r["position"]), r["team"] + ("LIVE" if r["live"] else ""), str(r["played"]), str(r["won"]),
             str(r["drawn"]), str(r["lost"]), str(r["goals_for"]), str(r["goals_against"]),
             gd(r["goal_difference"]), str(r["points"])] for r in table["rows"]]


def test_competition_table_moves_live_as_goals_go_in(server: ServerProcess, page: Any) -> None:
    """On a group's last matchday the competition page's table reorders as goals go in, marks
    the teams playing as live, and always says what the standings API says; a disallowed goal
    puts it back. The page lists the group's results and live matches by stage."""
    name = f"Group Cup {unique_id('g')}"
    day = datetime.now(timezone.utc) - timedelta(days=3)
    teams = [("Spain", "Italy"), ("Croatia", "Albania"), ("Spain", "Croatia"), ("Italy", "Albania"),
             ("Albania", "Spain"), ("Italy", "Croatia")]
    ids = []
    for index, (home, away) in enumerate(teams):
        match_id = unique_id("grp")
        server.request("POST", "/api/matches", {
            "id": match_id, "home": home, "away": away, "competition": name, "stage": "Group B",
            "starts_at": (day + timedelta(days=index // 2)).isoformat()})
        ids.append(match_id)
    results = [(1, 0), (2, 2), (0, 1), (0, 0)]
    for match_id, (home_goals, away_goals) in zip(ids, results):
        server.post(match_id, {"type": "period_start"},
                    *[{"type": "goal", "team": "home"}] * home_goals, *[{"type": "goal", "team": "away"}] * away_goals,
                    {"type": "period_end", "final": True})
    last_a, last_b = ids[4], ids[5]
    server.post(last_a, {"type": "period_start"})
    server.post(last_b, {"type": "period_start"})
    slug = server.match(last_a)["competition_slug"]

    page.goto(f"{server.url}/competitions/{slug}")
    expect(page.locator("h1")).to_have_text(name)
    expect(page.locator(".standings .table-title")).to_contain_text("Group B")
    expect(page.locator(".standings .table-live")).to_be_visible()
    assert table_rows(page) == api_rows(server, slug)
    # Both last matches level at 0-0 count as draws: Croatia 5, Spain 4, Albania 3, Italy 2.
    assert [row[1] for row in table_rows(page)] == ["CroatiaLIVE", "SpainLIVE", "AlbaniaLIVE", "ItalyLIVE"]
    assert section_of(page, last_a) == "live" and section_of(page, ids[0]) == "results"
    expect(page.locator('[data-section="results"] .group-title').first).to_have_text("Group B")

    server.post(last_a, {"type": "goal", "team": "home", "player": "Broja"})   # Albania top on names
    page.wait_for_function("() => document.querySelector('.standings tbody tr').dataset.team === 'Albania'")
    assert table_rows(page) == api_rows(server, slug)
    assert [row[1] for row in table_rows(page)] == ["AlbaniaLIVE", "CroatiaLIVE", "SpainLIVE", "ItalyLIVE"]
    events = server.events(last_a)
    server.post(last_a, {"type": "retract", "target": events[-1]["seq"], "reason": "offside"})
    page.wait_for_function("() => document.querySelector('.standings tbody tr').dataset.team === 'Croatia'")
    assert table_rows(page) == api_rows(server, slug)

    for match_id in (last_a, last_b):
        server.post(match_id, {"type": "period_end", "final": True})
    expect(page.locator(".standings .table-live")).to_be_hidden()
    expect(page.locator(".standings tr.live")).to_have_count(0)
    assert table_rows(page) == api_rows(server, slug)


def test_match_page_and_cards_link_to_the_competition(server: ServerProcess, page: Any) -> None:
    """The match page's competition name and the home page's competition heading open the
    competition's page; an unknown competition is a 404 page."""
    match_id, = competition(server, f"Link Cup {unique_id('k')}", ("lk", "Porto", "Benfica", None))
    page.goto(f"{server.url}/matches/{match_id}")
    page.locator(".competition-link").click()
    expect(page).to_have_url(re.compile(r"/competitions/link-cup-"))
    expect(page.locator(f'li[data-match="{match_id}"]')).to_be_visible()
    page.locator(f'li[data-match="{match_id}"] a').click()
    expect(page).to_have_url(re.compile(f"/matches/{match_id}$"))
    answer = page.goto(f"{server.url}/competitions/no-such-cup")
    assert answer is not None and answer.status == 404
    expect(page.locator("h1")).to_have_text("Competition not found")
