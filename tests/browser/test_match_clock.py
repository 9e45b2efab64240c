"""static/match-clock.js in Chromium reads the server's clock exactly as the domain does."""
from __future__ import annotations

from typing import Any

from domain_support import Game, at
from scoreboard.domain import BASKETBALL, FOOTBALL, Match, clock_label, match_view

from .conftest import ServerProcess


def views_at_instants() -> list[tuple[dict[str, Any], str, str | None]]:
    """(match view, instant, the domain's clock label) over periods, stoppage time and breaks."""
    cases = []
    for profile, match, periods in ((FOOTBALL, Match("f", "A", "B"), (1, 2, 3, 4, 5)),
                                    (BASKETBALL, Match("b", "A", "B", sport="basketball"), (1, 3, 5, 6))):
        for period in periods:
            game = Game(profile)
            game.event("period_start", t=0, period=period)
            if period == 3:
                game.event("clock", t=30, action="stop")
                game.event("clock", t=95.5, action="start")
            view = match_view(match, game.state)
            for seconds in (0, 0.999, 59.999, 60, 61.5, 599.9, 600, 2699.999, 2700, 2761.25, 3333, 4000):
                instant = at(100 + seconds) if period == 3 else at(seconds)
                cases.append((view, instant, clock_label(profile, game.state, instant)))
        game = Game(profile)
        game.event("period_start", t=0)
        game.event("period_end", t=700)
        cases.append((match_view(match, game.state), at(800), None))
    return cases


def test_js_clock_labels_equal_the_domains(server: ServerProcess, page: Any) -> None:
    """For every sport, period, stoppage minute, stopped clock and break, clockLabel in the
    browser says what scoreboard.domain.clock_label says at the same instant."""
    page.goto(f"{server.url}/")
    cases = views_at_instants()
    labels = page.evaluate(
        """async (cases) => {
            const clock = await import("/static/match-clock.js");
            return cases.map(([view, instant]) => clock.clockLabel(view, Date.parse(instant)));
        }""",
        [[view, instant] for view, instant, _ in cases],
    )
    expected = [label for _, _, label in cases]
    assert labels == expected
    assert {"45+1'", "90+1'", "105+31'", "Q3 9:25", "OT 0:00", None} <= set(expected)  # the cases reach them


def test_js_minute_label_and_server_offset(server: ServerProcess, page: Any) -> None:
    """minuteLabel matches the stored minute_label; serverOffset measures the server's lead."""
    page.goto(f"{server.url}/")
    periods = match_view(Match("f", "A", "B"), Game().state)["periods"]
    pairs = [(p, m) for p in (1, 2, 3, 4) for m in (1, 23, 45, 46, 52, 90, 98, 105, 106, 120, 123)]
    labels = page.evaluate(
        """async ([periods, pairs]) => {
            const clock = await import("/static/match-clock.js");
            return {
                labels: pairs.map(([p, m]) => clock.minuteLabel(periods, p, m)),
                offset: clock.serverOffset("2026-01-01T00:00:02.500Z", Date.parse("2026-01-01T00:00:00Z")),
            };
        }""",
        [periods, pairs],
    )
    assert labels["labels"] == [FOOTBALL.minute_label(p, m) for p, m in pairs]
    assert labels["offset"] == 2500
