"""Fixtures, competitions, live tables, sports and refusals through the HTTP API of a real app."""
from __future__ import annotations

from typing import Any

from support import AUTH, create_match, post_events, receive_json

CUP = {"competition": "Copa Test 2026", "stage": "Group A", "venue": "Estadio Uno"}


async def get(client: Any, url: str, status: int = 200) -> Any:
    response = await client.get(url)
    assert response.status == status, await response.text()
    return await response.json()


async def test_fixture_fields_are_stored_and_kickoff_is_served_in_utc(client: Any) -> None:
    """competition, stage, venue and sport come back; starts_at is given with any offset and
    served in UTC; the slug links to the competition."""
    view = await create_match(client, "a-b", starts_at="2026-06-11T21:00:00+02:00", **CUP)
    assert view["starts_at"] == "2026-06-11T19:00:00Z"
    assert (view["competition"], view["competition_slug"], view["stage"], view["venue"]) == (
        "Copa Test 2026", "copa-test-2026", "Group A", "Estadio Uno")
    assert (view["sport"], view["status_label"], view["clock"]["running"]) == ("football", "Scheduled", False)


async def test_bad_fixture_fields_are_refused_per_field(client: Any) -> None:
    """An unknown sport, a zero-minute period or a nameless competition are 422 with the field."""
    for body, field in (({"sport": "cricket"}, "sport"), ({"period_minutes": 0}, "period_minutes"),
                        ({"competition": "!!!"}, "competition"), ({"extra_minutes": 31}, "extra_minutes")):
        response = await client.post("/api/matches", headers=AUTH, json={"home": "A", "away": "B", **body})
        assert response.status == 422, body
        assert field in (await response.json())["error"]["fields"]


async def test_a_goal_before_kickoff_is_a_409_telling_to_start_the_period(client: Any) -> None:
    """Goals, cards and substitutions on a scheduled match are refused and nothing is stored."""
    await create_match(client)
    for event in ({"type": "goal", "team": "home"}, {"type": "card", "team": "away", "color": "red"},
                  {"type": "substitution", "team": "home", "player_in": "A", "player_out": "B"}):
        body = await post_events(client, "arg-fra", event, status=409)
        assert body["error"]["code"] == "not_in_play"
        assert "start the first period (period_start)" in body["error"]["message"]
    assert (await get(client, "/api/matches/arg-fra"))["seq"] == 0


async def test_goals_without_minute_take_the_clock_and_carry_labels(client: Any) -> None:
    """A goal posted without minute gets the running clock's minute, its period and a label;
    an explicit minute past the period's end reads as stoppage time."""
    await create_match(client)
    await post_events(client, "arg-fra", {"type": "period_start"})
    body = await post_events(client, "arg-fra", [
        {"type": "goal", "team": "home", "player": "Messi", "assist": "Mac Allister"},
        {"type": "goal", "team": "away", "minute": 52},
    ])
    first, second = body["events"]
    assert (first["minute"], first["period"], first["minute_label"], first["assist"]) == (1, 1, "1'", "Mac Allister")
    assert second["minute_label"] == "45+7'"


async def test_list_filters_by_competition_status_and_day(client: Any) -> None:
    """?competition=<slug>, ?status= and ?date= (the kickoff's UTC day) combine; bad values are 422."""
    await create_match(client, "early", starts_at="2026-06-11T23:30:00-03:00", **CUP)  # 12 June in UTC
    await create_match(client, "late", starts_at="2026-06-12T18:00:00Z", **CUP)
    await create_match(client, "other", starts_at="2026-06-12T18:00:00Z", competition="Liga X")
    await post_events(client, "late", {"type": "period_start"})

    async def ids(query: str) -> list[str]:
        return sorted(m["id"] for m in (await get(client, f"/api/matches?{query}"))["matches"])

    assert await ids("competition=copa-test-2026") == ["early", "late"]
    assert await ids("date=2026-06-12") == ["early", "late", "other"]
    assert await ids("date=2026-06-11") == []
    assert await ids("competition=copa-test-2026&status=live") == ["late"]
    for bad in ("date=12-06-2026", "date=2026-W24-5", "date=2026-02-30", "competition=Copa%20Test"):
        body = await get(client, f"/api/matches?{bad}", status=422)
        assert bad.split("=")[0] in body["error"]["fields"]


async def test_competitions_and_a_live_table(client: Any) -> None:
    """/api/competitions lists each; its standings count finished matches and, marked live,
    the current score of live ones; knockout stages have no table; unknown slugs are 404."""
    await create_match(client, "a-b", home="A", away="B", starts_at="2026-06-11T18:00:00Z", **CUP)
    await create_match(client, "c-d", home="C", away="D", starts_at="2026-06-11T21:00:00Z", **CUP)
    await create_match(client, "a-c", home="A", away="C", starts_at="2026-06-15T18:00:00Z", **CUP)
    await create_match(client, "final", home="A", away="D", starts_at="2026-07-01T18:00:00Z",
                       **{**CUP, "stage": "Final"})
    await post_events(client, "a-b", [{"type": "period_start"}, {"type": "goal", "team": "home"},
                                      {"type": "period_end", "final": True}])
    await post_events(client, "c-d", [{"type": "period_start"}, {"type": "goal", "team": "away"}])
    [cup] = (await get(client, "/api/competitions"))["competitions"]
    assert (cup["slug"], cup["stages"], cup["matches"], cup["live"], cup["finished"]) == (
        "copa-test-2026", ["Group A", "Final"], 4, 1, 1)
    standings = await get(client, "/api/competitions/copa-test-2026/standings")
    assert standings["competition"] == {"slug": "copa-test-2026", "name": "Copa Test 2026"}
    [table] = standings["tables"]
    assert table["stage"] == "Group A" and table["live"] is True
    assert [(r["team"], r["points"], r["played"], r["live"]) for r in table["rows"]] == [
        ("A", 3, 1, False), ("D", 3, 1, True), ("B", 0, 1, False), ("C", 0, 1, True)]
    body = await get(client, "/api/competitions/no-such-cup/standings", status=404)
    assert body["error"]["code"] == "not_found"


async def test_private_matches_stay_out_of_competitions_without_a_grant(client: Any) -> None:
    """A private match counts in tables only for a viewer who may see it."""
    await create_match(client, "secret", private=True, **CUP)
    assert (await get(client, "/api/competitions"))["competitions"] == []
    await get(client, "/api/competitions/copa-test-2026/standings", status=404)
    response = await client.get("/api/competitions", headers=AUTH)
    assert [c["slug"] for c in (await response.json())["competitions"]] == ["copa-test-2026"]
    assert response.headers["Cache-Control"] == "private, no-store"


async def test_a_basketball_game_end_to_end(client: Any) -> None:
    """NBA quarters of 12', a countdown clock, 1/2/3 points (4 and goals refused), overtime,
    and "Final/OT" with the winner."""
    view = await create_match(client, "lal-bos", home="Lakers", away="Celtics", sport="basketball",
                              period_minutes=12)
    assert view["countdown"] is True
    assert [(p["name"], p["start"], p["end"]) for p in view["periods"][:5]] == [
        ("Q1", 0, 720), ("Q2", 720, 1440), ("Q3", 1440, 2160), ("Q4", 2160, 2880), ("OT", 2880, 3180)]
    for quarter in range(1, 5):
        await post_events(client, "lal-bos", {"type": "period_start"})
        body = await post_events(client, "lal-bos", [{"type": "points", "team": "home", "value": 3},
                                                     {"type": "points", "team": "away", "value": 2},
                                                     {"type": "points", "team": "away", "value": 1}])
        assert body["events"][0]["minute_label"].startswith(f"Q{quarter} 12:0")
        assert (await get(client, "/api/matches/lal-bos"))["status_label"] == f"Q{quarter}"
        await post_events(client, "lal-bos", {"type": "period_end"})
    assert (await get(client, "/api/matches/lal-bos"))["status_label"] == "End of Q4"
    for bad in ({"type": "points", "team": "home", "value": 4}, {"type": "goal", "team": "home"},
                {"type": "shootout_kick", "team": "home", "scored": True}):
        assert (await post_events(client, "lal-bos", bad, status=422))["error"]["code"] == "validation_failed"
    await post_events(client, "lal-bos", {"type": "period_start"})
    overtime = await get(client, "/api/matches/lal-bos")
    assert (overtime["period"], overtime["status_label"], overtime["clock"]["elapsed"]) == (5, "OT", 2880)
    await post_events(client, "lal-bos", [{"type": "clock", "action": "stop"},
                                          {"type": "clock", "action": "set", "elapsed": 3000},
                                          {"type": "points", "team": "home", "value": 2},
                                          {"type": "period_end", "final": True}])
    final = await get(client, "/api/matches/lal-bos")
    assert final["score"] == {"home": 14, "away": 12}
    assert (final["status_label"], final["winner"], final["decided_by"], final["result"]) == (
        "Final/OT", "home", "overtime", "Lakers win after overtime")


async def test_snapshot_and_frames_carry_the_clock_labels_and_the_shootout(client: Any) -> None:
    """A fan's snapshot and each event frame carry what a page needs without another request:
    the clock, added time, status and period labels, the shootout and, at the end, the result."""
    await create_match(client)
    await post_events(client, "arg-fra", [{"type": "period_start", "period": 4},
                                          {"type": "added_time", "minutes": 3}])
    async with client.ws_connect("/ws?matches=arg-fra") as ws:
        snapshot = await receive_json(ws)
        match = snapshot["match"]
        assert match["clock"]["running"] and match["clock"]["elapsed"] == 6300
        assert (match["added_time"], match["status_label"], match["period_name"]) == (
            3, "Extra time", "Extra time 2nd half")
        assert len(match["periods"]) == 5
        subscribed = await receive_json(ws)
        assert subscribed["type"] == "subscribed" and subscribed["now"] >= match["clock"]["at"]
        await post_events(client, "arg-fra", [{"type": "period_end"}, {"type": "period_start", "period": 5},
                                              {"type": "shootout_kick", "team": "away", "scored": False},
                                              {"type": "shootout_kick", "team": "home", "scored": True},
                                              {"type": "period_end", "final": True}])
        frames = [await receive_json(ws) for _ in range(5)]
    assert [f["status_label"] for f in frames] == ["End of extra time", "Penalties", "Penalties", "Penalties", "Pens"]
    assert frames[0]["clock"]["running"] is False
    assert "shootout" not in frames[0] and "winner" not in frames[0]  # absent until they have a value
    assert frames[2]["shootout"]["kicks"] == [{"seq": 5, "team": "away", "player": None, "scored": False}]
    assert frames[3]["shootout"]["home"] == 1 and frames[3]["score"] == {"home": 0, "away": 0}
    last = frames[-1]
    assert (last["winner"], last["decided_by"], last["result"]) == (
        "home", "penalties", "Argentina win 1–0 on penalties")
