"""Every page at 1280 px and on a 390 px phone: nothing overflows its box, the header is one
line, team names break only between words, the widget's text is readable, and screenshots of
each page land in tests/browser/artifacts/layout-*.png for a person to look at."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from .conftest import ARTIFACTS, HostSite, ServerProcess, expect
from .layout import (
    PHONE, WIDTHS, header_problems, new_context, overflow_problems, team_name_problems,
    text_sizes,
)

# The boxes that hold names and scores: nothing inside them may run out of its own box.
SCORE_BOXES = (".site-header", ".card", ".hero", ".console-match", ".embed-card", ".c",
               ".fixture-group", ".shootout", ".standings", ".linescore", ".timeline")


@pytest.fixture(scope="module")
def scene(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server of this module's own with the matches a fan would find on a busy day."""
    server = ServerProcess(tmp_path_factory.mktemp("layout") / "layout.db")
    server.start()
    today = datetime.now(timezone.utc).replace(hour=15, minute=0, second=0, microsecond=0)
    matches = {
        "wolves": ("Wolverhampton Wanderers", "Brighton & Hove Albion", today),
        "gladbach": ("Borussia Mönchengladbach", "Wolverhampton Wanderers", today + timedelta(days=1)),
        "final": ("Argentina", "France", datetime(2022, 12, 18, 15, tzinfo=timezone.utc)),
        "rematch": ("Argentina", "France", datetime(2030, 6, 18, 19, tzinfo=timezone.utc)),
        # Longer than any real club: the layout must hold even so.
        "stress": ("Borussia Mönchengladbach Amateure Zweite Mannschaft",
                   "Wolverhampton Wanderers Women Football Club", today + timedelta(days=2)),
    }
    for match_id, (home, away, starts_at) in matches.items():
        server.request("POST", "/api/matches", {"id": match_id, "home": home, "away": away,
                                                "starts_at": starts_at.isoformat()})
    server.post("wolves", {"type": "period_start"},
                {"type": "goal", "team": "home", "player": "Hwang Hee-chan", "minute": 23},
                {"type": "card", "team": "away", "color": "yellow", "player": "Pascal Groß", "minute": 31})
    server.post("wolves", {"type": "clock", "action": "set", "elapsed": 2690},
                {"type": "added_time", "minutes": 4},
                {"type": "goal", "team": "home", "player": "Jan Bednarek", "own_goal": True},
                {"type": "substitution", "team": "away", "player_in": "Kaoru Mitoma",
                 "player_out": "Simon Adingra"})
    server.post("final", {"type": "period_start"},
                {"type": "goal", "team": "home", "player": "Lionel Messi", "minute": 23, "penalty": True},
                {"type": "goal", "team": "away", "player": "Kylian Mbappé", "minute": 80},
                {"type": "period_end", "final": True})
    # The World Cup final as it ended (names as StatsBomb spells them: long).
    server.request("POST", "/api/matches", {
        "id": "wc-final", "home": "Argentina", "away": "France", "starts_at": "2022-12-18T15:00:00Z",
        "competition": "FIFA World Cup 2022", "stage": "Final", "venue": "Lusail Stadium"})
    shootout = [("away", "Kylian Mbappé Lottin", True), ("home", "Lionel Andrés Messi Cuccittini", True),
                ("away", "Kingsley Coman", False), ("home", "Paulo Bruno Exequiel Dybala", True),
                ("away", "Aurélien Djani Tchouaméni", False), ("home", "Leandro Daniel Paredes", True),
                ("away", "Randal Kolo Muani", True), ("home", "Gonzalo Ariel Montiel", True)]
    server.post("wc-final", *[event for period in (1, 2, 3, 4) for event in (
        {"type": "period_start", "period": period},
        *([{"type": "goal", "team": "home", "player": "Lionel Andrés Messi Cuccittini", "minute": 23,
            "penalty": True},
           {"type": "goal", "team": "home", "player": "Ángel Fabián Di María Hernández", "minute": 36},
           {"type": "card", "team": "home", "player": "Enzo Fernandez", "color": "yellow", "minute": 52},
           {"type": "substitution", "team": "away", "player_in": "Randal Kolo Muani",
            "player_out": "Ousmane Dembélé", "minute": 41}] if period == 1 else []),
        *([{"type": "goal", "team": "away", "player": "Kylian Mbappé Lottin", "minute": 80, "penalty": True},
           {"type": "goal", "team": "away", "player": "Kylian Mbappé Lottin", "minute": 81}] if period == 2 else []),
        *([{"type": "goal", "team": "home", "player": "Lionel Andrés Messi Cuccittini", "minute": 108},
           {"type": "goal", "team": "away", "player": "Kylian Mbappé Lottin", "minute": 118, "penalty": True}]
          if period == 4 else []),
        {"type": "period_end"})],
        {"type": "period_start", "period": 5},
        *[{"type": "shootout_kick", "team": side, "player": player, "scored": scored}
          for side, player, scored in shootout],
        {"type": "period_end", "final": True})
    server.request("POST", "/api/matches", {
        "id": "hoops", "home": "Los Angeles Lakers", "away": "Boston Celtics", "sport": "basketball",
        "period_minutes": 12, "competition": "NBA", "stage": "Regular Season", "starts_at": today.isoformat()})
    server.post("hoops", {"type": "period_start", "period": 1},
                {"type": "points", "team": "home", "value": 3, "player": "LeBron James"}, {"type": "period_end"},
                {"type": "period_start", "period": 2},
                {"type": "points", "team": "away", "value": 2, "player": "Jayson Tatum"})
    # A group on its last matchday: two finished rounds, two matches live.
    for index, (home, away) in enumerate([("Spain", "Italy"), ("Croatia", "Albania"), ("Spain", "Croatia"),
                                          ("Italy", "Albania"), ("Albania", "Spain"), ("Italy", "Croatia")]):
        match_id = f"euro-{index}"
        server.request("POST", "/api/matches", {
            "id": match_id, "home": home, "away": away, "competition": "UEFA Euro 2028",
            "stage": "Group B", "starts_at": (today - timedelta(days=4 - index // 2 * 2)).isoformat()})
        server.post(match_id, {"type": "period_start"}, *[{"type": "goal", "team": "home"}] * (index % 3),
                    *([{"type": "period_end", "final": True}] if index < 4 else []))
    yield {"server": server}
    server.stop()


WIDGET_HOST = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Club news</title>
<style>body {{ font: 17px/1.5 Georgia, serif; max-width: 640px; margin: 0 auto; padding: 12px; }}</style>
</head><body>
<h1>Club news</h1>
<p>Today's matches, live:</p>
<script src="{server}/static/widget.js" data-match="wolves" async></script>
<script src="{server}/static/widget.js" data-match="wc-final" async></script>
<script src="{server}/static/widget.js" data-match="rematch" data-theme="dark" async></script>
<script src="{server}/static/widget.js" data-match="gladbach" data-compact async></script>
<script src="{server}/static/widget.js" data-match="no-such-match" async></script>
<p>And as an iframe:</p>
<iframe src="{server}/embed/wolves" title="Live score" width="360" height="190" style="border:0; max-width:100%" loading="lazy"></iframe>
</body></html>
"""


def open_page(context: Any, scene: dict[str, Any], host_site: HostSite, name: str) -> Any:
    """One of the pages a fan, a scorekeeper or an embedder opens, ready to measure."""
    server: ServerProcess = scene["server"]
    page = context.new_page()
    if name == "widgets":
        host_site.pages["club-news.html"] = WIDGET_HOST.format(server=server.url)
        page.goto(f"{host_site.url}/club-news.html")
        expect(page.locator('[data-scoreboard-match="wolves"]').first.locator(".d")).to_have_class("d live")
        expect(page.locator('[data-scoreboard-match="no-such-match"] .st')).to_have_text("Match not found")
        expect(page.frame_locator("iframe").locator("#conn")).to_have_attribute("data-state", "live")
        return page
    if name == "console":
        page.goto(f"{server.url}/console")
        page.evaluate("sessionStorage.setItem('scoreboard.apiKey', 'testkey');"
                      "sessionStorage.setItem('scoreboard.consoleMatch', 'wolves')")
    path = {"index": "/", "match": "/matches/wolves", "long-match": "/matches/gladbach",
            "final": "/matches/wc-final", "basketball": "/matches/hoops",
            "competition": "/competitions/uefa-euro-2028", "console": "/console",
            "embed": "/embed?match=stress", "embed-card": "/embed/wolves",
            "embed-final": "/embed/wc-final", "api-docs": "/api/docs", "protocol": "/api/docs/protocol"}[name]
    page.goto(f"{server.url}{path}")
    if name in ("index", "match", "long-match", "basketball", "competition", "console", "embed-card"):
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    if name in ("final", "embed-final"):
        expect(page.locator(".result")).to_have_text("Argentina win 4–2 on penalties")
    if name == "console":
        expect(page.locator("#match .team.home")).to_have_text("Wolverhampton Wanderers")
    return page


# The API reference runs to 31,000-45,000 px; a whole-page capture of it (40 MP) took over
# 15 s on a loaded machine. Its first screens show its layout as well as the rest would.
SCREENSHOT_MAX_HEIGHT = 8000


def screenshot(page: Any, name: str, width: int) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"layout-{name}-{width}.png"
    height = page.evaluate("document.documentElement.scrollHeight")
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, SCREENSHOT_MAX_HEIGHT)}
    page.screenshot(path=str(path), full_page=True, clip=clip)
    return path


PAGES = ("index", "match", "long-match", "final", "basketball", "competition", "console", "embed",
         "embed-card", "embed-final", "widgets", "api-docs", "protocol")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_nothing_overflows_its_box(
    browser: Any, scene: dict[str, Any], host_site: HostSite, name: str, width: int,
) -> None:
    """No element is wider than the viewport or sticks out of it, nothing inside a header, card,
    scoreline or widget runs out of its box, and team names break only between words; the
    page's screenshot is saved for review."""
    context = new_context(browser, width)
    try:
        page = open_page(context, scene, host_site, name)
        screenshot(page, name, width)
        assert overflow_problems(page, SCORE_BOXES) == []
        # Team names: the pages' .team, the widget's .h/.a (its compact line may ellipsize).
        problems, count = team_name_problems(page, ".team, .w:not(.k) :is(.h, .a)")
        assert problems == []
        if name not in ("embed", "api-docs", "protocol"):
            assert count >= 2, "no team names measured"
        if name == "embed-card" or name == "widgets":
            frame_problems = [p for frame in page.frames[1:] for p in
                              frame.evaluate("() => document.documentElement.scrollWidth > innerWidth "
                                             "? ['iframe content scrolls sideways'] : []")]
            assert frame_problems == []
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("state", ["live", "connecting", "reconnecting", "offline"])
def test_header_stays_one_line_in_every_connection_state(
    browser: Any, scene: dict[str, Any], host_site: HostSite, state: str, width: int,
) -> None:
    """Brand, navigation and the connection badge share one line of the header whatever the
    badge says; on a phone a problem shows in a bar under the header that fits the screen."""
    context = new_context(browser, width)
    try:
        page = open_page(context, scene, host_site, "match")
        # Live first: a connection that opens late (a loaded machine) would overwrite the state set below.
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        if state != "live":
            # The states a real outage walks through (test_restart.py drives them for real). The
            # feed stops first: any message still arriving (a "watching" count) means live again.
            page.evaluate("""([state]) => {
                window.scoreboardFeed.stop();
                window.scoreboardFeed._setState(state, {retryInMs: 9400});
            }""", [state])
        expect(page.locator("#conn")).to_have_attribute("data-state", state)
        assert header_problems(page) == []
        assert overflow_problems(page, (".site-header",)) == []
        badge = page.locator("#conn").bounding_box()
        assert badge is not None and badge["x"] >= 0 and badge["x"] + badge["width"] <= width
        if state == "offline":
            expect(page.locator("#conn")).to_contain_text("retrying in 9 s")
            expect(page.locator("#conn .conn-retry")).to_be_visible()
            screenshot(page, "match-offline", width)
    finally:
        context.close()


def test_long_single_word_shrinks_rather_than_breaks_on_a_phone(
    browser: Any, scene: dict[str, Any], host_site: HostSite,
) -> None:
    """"Mönchengladbach" does not fit a third of a phone at the hero's size: both names of the
    match shrink together until it does, and it stays one word."""
    context = new_context(browser, PHONE)
    try:
        page = open_page(context, scene, host_site, "long-match")
        home = page.locator(".hero .team.home")
        away = page.locator(".hero .team.away")
        sizes = [float(el.evaluate("el => getComputedStyle(el).fontSize")[:-2]) for el in (home, away)]
        assert sizes[0] == sizes[1], sizes
        assert 11 <= sizes[0] < 16, sizes
        assert team_name_problems(page)[0] == []
        page.set_viewport_size({"width": 1280, "height": 800})    # room again: it grows back
        page.wait_for_timeout(200)
        grown = float(home.evaluate("el => getComputedStyle(el).fontSize")[:-2])
        assert grown >= 20, grown
        assert team_name_problems(page)[0] == []
    finally:
        context.close()


def test_widget_text_is_readable_on_a_phone(browser: Any, scene: dict[str, Any], host_site: HostSite) -> None:
    """Every piece of text in the script widget is at least 14 px on a 390 px phone."""
    context = new_context(browser, PHONE)
    try:
        page = open_page(context, scene, host_site, "widgets")
        sizes = text_sizes(page, "[data-scoreboard-match]")
        assert len(sizes) >= 10
        small = [row for row in sizes if row[1] < 14]
        assert small == []
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_stacked_widgets_have_a_gap(browser: Any, scene: dict[str, Any], host_site: HostSite, width: int) -> None:
    """Widgets placed one after another on a host page do not touch: at least 8 px between cards."""
    context = new_context(browser, width)
    try:
        page = open_page(context, scene, host_site, "widgets")
        boxes = page.locator("[data-scoreboard-match] .c").evaluate_all(
            "cards => cards.map(c => c.getBoundingClientRect()).map(r => [r.top, r.bottom])")
        assert len(boxes) == 5
        gaps = [round(below[0] - above[1], 1) for above, below in zip(boxes, boxes[1:])]
        assert all(gap >= 8 for gap in gaps), gaps
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_widget_for_a_missing_match_says_so_and_links_nowhere(
    browser: Any, scene: dict[str, Any], host_site: HostSite, width: int,
) -> None:
    """A widget naming a match the service does not have says "Match not found", shows no
    empty score rows and no "Live on Scoreboard" link."""
    context = new_context(browser, width)
    try:
        page = open_page(context, scene, host_site, "widgets")
        missing = page.locator('[data-scoreboard-match="no-such-match"]')
        expect(missing.locator(".st")).to_have_text("Match not found")
        expect(missing.locator("a")).to_be_hidden()
        expect(missing.locator(".g")).to_be_hidden()
        expect(missing.locator(".d")).to_have_class("d")   # not a live dot: it follows nothing
        assert "Live on Scoreboard" not in (missing.locator(".c").inner_text())
        found = page.locator('[data-scoreboard-match="wolves"]').first
        expect(found.locator("a")).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("match_id, query, height", [
    ("wc-final", "", 190), ("wolves", "", 190), ("stress", "", 190), ("wolves", "?compact=1", 60),
])
def test_embed_card_fits_the_height_the_guide_gives(
    browser: Any, scene: dict[str, Any], match_id: str, query: str, height: int,
) -> None:
    """/embed/{id} in an iframe of the guide's height (190, or 60 for the single line) shows
    everything, scorers and result line included, without a scrollbar, at the guide's 360 px
    and on a 320 px column."""
    server: ServerProcess = scene["server"]
    for width in (360, 320):
        context = new_context(browser, width)
        try:
            page = context.new_page()
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{server.url}/embed/{match_id}{query}")
            expect(page.locator("#match")).to_be_visible()
            page.wait_for_timeout(300)
            size = page.evaluate("[document.documentElement.scrollHeight, document.documentElement.scrollWidth]")
            assert size[0] <= height and size[1] <= width, (width, size)
        finally:
            context.close()
