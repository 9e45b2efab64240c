"""What the match page, the lists and their embedded state say, computed on the server (the
first paint; static/*.js says the same live: tests/browser/test_live_parity.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from domain_support import Game, at
from scoreboard.domain import BASKETBALL, FOOTBALL, Match, clock_label, match_view
from scoreboard.web.pages import facts, labels, listing, state
from tests.browser.test_match_clock import views_at_instants


def moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_first_paint_clock_equals_the_domains() -> None:
    """The minute a page is rendered with is the domain's clock label at that instant, for
    every period, stoppage minute, stopped clock and break of both sports."""
    for view, instant, expected in views_at_instants():
        assert labels.clock_label(view, moment(instant)) == expected, (view["period"], instant)


def test_hero_clock_leaves_the_period_to_the_status() -> None:
    """Basketball's hero reads "Q3" then "9:25" (not "Q3 Q3 9:25"); football keeps "67'"."""
    game = Game(BASKETBALL)
    game.event("period_start", t=0, period=3)
    view = match_view(Match("b", "A", "B", sport="basketball"), game.state)
    assert labels.clock_label(view, moment(at(35))) == "Q3 9:25"
    assert labels.hero_clock(view, moment(at(35))) == "9:25"
    football = Game()
    football.event("period_start", t=0, period=2)
    assert labels.hero_clock(match_view(Match("f", "A", "B"), football.state), moment(at(21 * 60))) == "67'"


def test_short_status_and_title_follow_the_live_minute() -> None:
    """A live card and the tab title carry the minute; a break reads HT; the end FT/Pens."""
    game = Game()
    game.event("period_start", t=0)
    game.event("goal", t=600, team="home", player="Messi")
    view = match_view(Match("f", "Argentina", "France"), game.state)
    assert labels.short_status(view, moment(at(2700 + 130))) == "45+3'"
    assert labels.page_title(view, moment(at(1200))) == "Argentina 1–0 France · 21'"
    game.event("period_end", t=2900)
    view = match_view(Match("f", "Argentina", "France"), game.state)
    assert labels.short_status(view) == "HT"
    assert labels.page_title(view) == "Argentina 1–0 France · HT"
    scheduled = match_view(Match("s", "Argentina", "France", starts_at="2030-06-18T19:00:00Z"), Game().state)
    assert labels.page_title(scheduled) == "Argentina v France"


def goal(seq: int, team: str, player: str | None, minute: int, period: int = 1, **flags: Any) -> dict[str, Any]:
    return {"seq": seq, "type": "goal", "team": team, "player": player, "minute": minute,
            "period": period, "minute_label": FOOTBALL.minute_label(period, minute), **flags}


def test_scorers_group_by_player_with_flags_and_own_goals_for_the_team_credited() -> None:
    """"Messi 23' (pen.), 108'" under Argentina; an own goal by a French player credited to
    Argentina sits under Argentina marked (o.g.); a retracted goal is gone; stoppage time reads
    45+2'."""
    events = [
        goal(3, "home", "Messi", 23, penalty=True),
        goal(5, "home", "Di María", 36),
        goal(6, "home", "Varane", 47, own_goal=True),   # first-half stoppage time
        goal(8, "away", "Mbappé", 80, period=2),
        goal(9, "away", "Giroud", 85, period=2),
        goal(12, "home", "Messi", 108, period=4),
    ]
    standing = facts.counting_goals(events, retracted={9})
    lines = facts.scorers(standing)
    assert [facts.scorer_line(entry) for entry in lines["home"]] == [
        "Messi 23' (pen.), 108'", "Di María 36'", "Varane 45+2' (o.g.)",
    ]
    assert [facts.scorer_line(entry) for entry in lines["away"]] == ["Mbappé 80'"]


def test_shootout_slots_pad_to_five_while_on_and_show_only_kicks_taken_at_the_end() -> None:
    """Each side's marks in order; five places while the shootout is on, the kicks once over."""
    kicks = [{"seq": 1, "team": "away", "scored": True}, {"seq": 2, "team": "home", "scored": True},
             {"seq": 3, "team": "away", "scored": False}]
    shootout = {"home": 1, "away": 1, "kicks": kicks}
    slots = facts.shootout_slots(shootout, finished=False)
    assert [k and k["scored"] for k in slots["home"]] == [True, None, None, None, None]
    assert [k and k["scored"] for k in slots["away"]] == [True, False, None, None, None]
    done = facts.shootout_slots(shootout, finished=True)
    assert [k and k["scored"] for k in done["home"]] == [True, None]
    assert len(done["away"]) == 2


def test_timeline_names_breaks_hides_clock_moves_and_marks_corrections() -> None:
    """Kick-off, Half time, 2nd half begins, added time at 45', substitutions, shootout kicks;
    clock corrections are not news; a retracted goal says Disallowed."""
    game = Game()
    game.event("period_start", t=0)
    game.event("clock", t=10, action="set", elapsed=2700)
    game.event("added_time", t=11, minutes=4)
    game.event("goal", t=100, team="home", player="Messi")
    game.event("period_end", t=200)
    game.event("period_start", t=300, period=2)
    game.event("substitution", t=400, team="away", player_in="Thuram", player_out="Giroud")
    game.event("retract", t=500, target=4)
    match = Match("f", "Argentina", "France")
    view = match_view(match, game.state)
    entries = facts.timeline([e.to_dict() for e in game.log], view, view["retracted"])
    read = [(e["minute"], e["title"], e["detail"]) for e in reversed(entries)]
    assert read == [
        ("", "Kick-off", ""),
        ("45'", "4 minutes of added time", ""),
        ("45+2'", "Goal · Argentina", "Messi"),
        ("", "Half time", ""),
        ("", "2nd half begins", ""),
        ("47'", "Substitution · France", "Thuram replaces Giroud"),
        ("", "Correction", "Goal · Argentina no longer counts"),
    ]
    disallowed = next(e for e in entries if e["seq"] == 4)
    assert disallowed["retracted"] and disallowed["note"] == "Disallowed"
    assert next(e for e in entries if e["type"] == "retract")["retracts_goal"]


def test_linescore_counts_points_per_period() -> None:
    """Basketball's quarters: points per period per side, corrections left out."""
    events = [
        {"seq": 2, "type": "points", "team": "home", "value": 3, "period": 1},
        {"seq": 3, "type": "points", "team": "away", "value": 2, "period": 1},
        {"seq": 5, "type": "points", "team": "home", "value": 2, "period": 2},
        {"seq": 6, "type": "points", "team": "home", "value": 1, "period": 2},
    ]
    assert facts.linescore(events, retracted={6}) == {"home": {1: 3, 2: 2}, "away": {1: 2}}


def card(match_id: str, status: str, starts_at: str | None, competition: str | None = None,
         stage: str | None = None) -> dict[str, Any]:
    slug = competition.lower().replace(" ", "-") if competition else None
    return {"id": match_id, "status": status, "starts_at": starts_at, "created_at": "2026-01-01T00:00:00Z",
            "competition": competition, "competition_slug": slug, "stage": stage}


def test_sections_split_live_upcoming_by_day_and_results_grouped_by_competition() -> None:
    """Live now (earliest first), Upcoming by UTC day then competition, Results latest first;
    a match without a competition is under "Other matches", an undated one last."""
    matches = [
        card("a", "live", "2026-11-29T15:00:00Z", "Premier League"),
        card("b", "half_time", "2026-11-29T14:00:00Z", "Bundesliga"),
        card("c", "scheduled", "2026-11-30T20:00:00Z", "Premier League"),
        card("d", "scheduled", "2026-11-30T18:00:00Z", "Bundesliga"),
        card("e", "scheduled", "2026-12-01T12:00:00Z"),
        card("f", "scheduled", None, "Premier League"),
        card("g", "finished", "2026-11-28T15:00:00Z", "Premier League"),
        card("h", "finished", "2026-11-27T15:00:00Z", "Bundesliga"),
        card("i", "postponed", "2026-11-30T21:00:00Z", "Premier League"),
    ]
    live, upcoming, results = listing.sections(matches)
    shape = lambda section: [  # noqa: E731
        (day.key, [(group.title, [m["id"] for m in group.matches]) for group in day.groups])
        for day in section.days
    ]
    assert shape(live) == [(None, [("Bundesliga", ["b"]), ("Premier League", ["a"])])]
    assert shape(upcoming) == [
        ("2026-11-30", [("Bundesliga", ["d"]), ("Premier League", ["c", "i"])]),
        ("2026-12-01", [("Other matches", ["e"])]),
        ("", [("Premier League", ["f"])]),
    ]
    assert shape(results) == [(None, [("Premier League", ["g"]), ("Bundesliga", ["h"])])]
    assert live.days[0].groups[1].href == "/competitions/premier-league"
    by_stage = listing.sections([card("x", "finished", None, "Cup", "Final")], listing.by_stage)
    assert by_stage[2].days[0].groups[0].title == "Final"


def test_list_state_sends_cards_only_what_they_show() -> None:
    """A list page's state carries no timeline-sized fields, clock bounds once per kind of
    match, and a live match keeps its own bounds."""
    game = Game()
    game.event("period_start", t=0)
    live = match_view(Match("l", "A", "B"), game.state)
    later = match_view(Match("s", "C", "D"), Game().state)
    nba = match_view(Match("n", "E", "F", sport="basketball", period_minutes=12), Game(BASKETBALL).state)
    sent = state.list_state([live, later, nba])
    cards = {c["id"]: c for c in sent["matches"]}
    assert "periods" in cards["l"] and "periods" not in cards["s"]
    assert not {"retracted", "venue", "shootout", "added_time"} & set(cards["s"])
    assert set(sent["periods"]) == {"football||", "basketball|12|"}
    assert sent["periods"]["basketball|12|"][0]["end"] == 720
    assert clock_label(FOOTBALL, game.state, at(61)) == labels.short_status(cards["l"], moment(at(61)))


def test_home_results_keep_the_latest() -> None:
    """The results section can be cut to the latest N (the home page shows 40)."""
    finished = [card(f"r{day:02d}", "finished", f"2026-11-{day:02d}T15:00:00Z", "League") for day in range(1, 29)]
    results = listing.sections(finished, results=3)[2]
    assert [m["id"] for m in results.matches] == ["r28", "r27", "r26"]
