"""The replay tool: the pure mapping from real-match data, and a full replay against the real server."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from scoreboard import replay
from scoreboard.replay import (
    ReplayDataError,
    event_client_id,
    load_plans,
    match_slug,
    order_events,
    plan_match,
    schedule,
    timeline,
    to_service_event,
)
from support import ServerProcess, free_port

REPO = Path(__file__).resolve().parents[1]
API_KEY = "replay-test-key"


def shared_data_file() -> Path:
    """Locate real_matches.json beside the repo, or under $SCOREBOARD_SHARED_DATA."""
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "data" / "real_matches.json"]
    env = os.environ.get("SCOREBOARD_SHARED_DATA")
    if env:
        base = Path(env)
        candidates += [base / "real_matches.json", base / "data" / "real_matches.json", base]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail(f"real_matches.json not found in {[str(c) for c in candidates]}")


def ev(period: int, minute: int, second: int, kind: str, **extra: Any) -> dict[str, Any]:
    return {"period": period, "minute": minute, "second": second, "type": kind, **extra}


SAUDI: dict[str, Any] = {
    "date": "2022-11-22",
    "home": "Argentina",
    "away": "Saudi Arabia",
    "final": {"home": 1, "away": 2},
    # Deliberately shuffled: the file order must not matter, the (period, clock) order must.
    "events": [
        ev(2, 45, 0, "kickoff"),
        ev(1, 51, 23, "half_time"),
        ev(2, 47, 22, "goal", team="away", player="Al Shehri", own_goal=False, penalty=False),
        ev(1, 0, 0, "kickoff"),
        ev(1, 9, 14, "goal", team="home", player="Messi", own_goal=False, penalty=True),
        ev(2, 107, 0, "full_time"),
        ev(2, 52, 14, "goal", team="away", player="Al Dawsari", own_goal=False, penalty=False),
    ],
}


# --------------------------------------------------------------------------- mapping


def test_order_is_period_then_clock() -> None:
    """A first half ending at 51:23 comes before the second half's 45:00 kick-off."""
    ordered = order_events(SAUDI["events"])
    assert [(e["period"], e["minute"], e["type"]) for e in ordered] == [
        (1, 0, "kickoff"),
        (1, 9, "goal"),
        (1, 51, "half_time"),
        (2, 45, "kickoff"),
        (2, 47, "goal"),
        (2, 52, "goal"),
        (2, 107, "full_time"),
    ]


def test_order_is_stable_for_ties() -> None:
    """Events at the same period and clock keep the file's (chronological) order."""
    first = ev(1, 30, 0, "yellow_card", team="home", player="A")
    second = ev(1, 30, 0, "goal", team="away", player="B")
    assert order_events([second, first]) == [second, first]


def test_plan_maps_every_type_with_deterministic_ids() -> None:
    """Each source type maps to our event, every moment of play carries a clock correction to
    the data's time, ids follow posting order, and planning is repeatable."""
    plan = plan_match(SAUDI)
    assert plan.match_id == "2022-11-22-argentina-saudi-arabia"
    assert plan.expected == {"home": 1, "away": 2}
    assert (plan.winner, plan.decided_by, plan.shootout) == ("away", "normal_time", None)
    assert [e["id"] for e in plan.events] == [event_client_id(plan.match_id, i) for i in range(len(plan.events))]
    bodies = [[{k: v for k, v in e.items() if k != "id"} for e in step.events] for step in plan.steps]
    assert bodies[0] == [{"type": "period_start", "period": 1}]
    assert bodies[1] == [
        {"type": "clock", "action": "set", "elapsed": 9 * 60 + 14},
        {"type": "goal", "team": "home", "player": "Messi", "minute": 10, "own_goal": False, "penalty": True},
    ]
    assert bodies[2] == [{"type": "clock", "action": "set", "elapsed": 51 * 60 + 23}, {"type": "period_end"}]
    assert bodies[3] == [{"type": "period_start", "period": 2}]
    assert bodies[6] == [{"type": "clock", "action": "set", "elapsed": 107 * 60}, {"type": "period_end", "final": True}]
    assert plan_match(SAUDI) == plan


def test_plan_carries_the_fixture_and_merges_substitutions_after_their_second() -> None:
    """kickoff_utc, competition, stage and venue make the match; a substitution at 45:00 of the
    second half comes after that half's kick-off, one in the same second as a goal after it."""
    record = {**SAUDI, "kickoff_utc": "2022-11-22T10:00:00Z", "competition": "FIFA World Cup 2022",
              "stage": "Group Stage", "venue": "Lusail Stadium", "substitutions": [
                  {"period": 2, "minute": 45, "second": 0, "team": "home", "player_in": "In", "player_out": "Out"},
                  {"period": 2, "minute": 52, "second": 14, "team": "away", "player_in": "X", "player_out": "Y"},
              ]}
    plan = plan_match(record)
    assert plan.create == {"id": plan.match_id, "home": "Argentina", "away": "Saudi Arabia",
                           "starts_at": "2022-11-22T10:00:00Z", "competition": "FIFA World Cup 2022",
                           "stage": "Group Stage", "venue": "Lusail Stadium"}
    kinds = [e["type"] for e in plan.events if e["type"] != "clock"]
    assert kinds == ["period_start", "goal", "period_end", "period_start", "substitution", "goal",
                     "goal", "substitution", "period_end"]
    sub = next(e for e in plan.events if e["type"] == "substitution")
    assert sub == {**sub, "team": "home", "player_in": "In", "player_out": "Out", "minute": 46}


def test_a_shootout_is_replayed_after_extra_time_and_ends_the_match() -> None:
    """With shootout_kicks, full time ends period 4 only; period 5, the kicks in order and the
    final whistle follow; the plan expects the shootout's winner, decided on penalties."""
    record = {"date": "2022-12-18", "home": "A", "away": "B", "final": {"home": 1, "away": 1},
              "shootout": {"home": 1, "away": 0},
              "shootout_kicks": [{"team": "away", "player": "P", "scored": False},
                                 {"team": "home", "player": "Q", "scored": True}],
              "events": [ev(1, 0, 0, "kickoff"), ev(1, 45, 0, "half_time"), ev(2, 45, 0, "kickoff"),
                         ev(2, 90, 0, "half_time"), ev(3, 90, 0, "kickoff"), ev(3, 105, 0, "half_time"),
                         ev(4, 105, 0, "kickoff"), ev(4, 110, 0, "goal", team="home", player="G"),
                         ev(4, 111, 0, "goal", team="away", player="H"), ev(4, 121, 0, "full_time")]}
    plan = plan_match(record)
    tail = [{k: v for k, v in e.items() if k != "id"} for e in plan.events[-6:]]
    assert tail == [{"type": "clock", "action": "set", "elapsed": 121 * 60}, {"type": "period_end"},
                    {"type": "period_start", "period": 5},
                    {"type": "shootout_kick", "team": "away", "player": "P", "scored": False},
                    {"type": "shootout_kick", "team": "home", "player": "Q", "scored": True},
                    {"type": "period_end", "final": True}]
    assert (plan.winner, plan.decided_by, plan.shootout) == ("home", "penalties", {"home": 1, "away": 0})
    without_kicks = plan_match({**record, "shootout_kicks": []})
    assert without_kicks.notes and not without_kicks.shootout_replayed
    assert without_kicks.events[-1]["final"] is True and without_kicks.decided_by == "extra_time"


@pytest.mark.parametrize(
    ("source", "color"),
    [
        (ev(1, 20, 5, "yellow_card", team="away", player="X"), "yellow"),
        (ev(2, 70, 0, "red_card", team="home", player="Y", second_yellow=False), "red"),
        (ev(2, 88, 0, "red_card", team="home", player="Z", second_yellow=True), "second_yellow"),
    ],
)
def test_cards_map_to_colors(source: dict[str, Any], color: str) -> None:
    """Yellow, straight red and second yellow become card events with the matching color."""
    mapped = to_service_event(source)
    assert mapped == {
        "type": "card",
        "team": source["team"],
        "player": source["player"],
        "color": color,
        "minute": source["minute"] + 1,
    }


def test_own_goal_keeps_scoring_side() -> None:
    """An own goal raises the `team` of the data (the side that benefits), flagged own_goal."""
    mapped = to_service_event(ev(1, 39, 40, "goal", team="home", player="Aguerd", own_goal=True, penalty=False))
    assert mapped["team"] == "home" and mapped["own_goal"] is True and mapped["penalty"] is False


def test_unknown_type_is_rejected() -> None:
    """A type outside the schema stops the replay before anything is sent."""
    with pytest.raises(ReplayDataError):
        to_service_event(ev(5, 120, 0, "shootout_kick"))
    with pytest.raises(ReplayDataError):
        plan_match({**SAUDI, "events": [*SAUDI["events"], ev(2, 60, 0, "corner")]})


def test_slug_folds_accents_and_takes_prefix() -> None:
    """Ids are valid slugs: ASCII, lower-case, dashes, prefix first, at most 64 characters."""
    assert match_slug("2022-12-01", "Côte d'Ivoire", "São Tomé", "T1") == "t1-2022-12-01-cote-d-ivoire-sao-tome"
    long = match_slug("2022-12-01", "A" * 80, "B")
    assert len(long) <= 64 and not long.endswith("-")


def test_pacing_plays_the_data_clock_at_speed_with_no_break_between_periods() -> None:
    """--speed divides time of play; the next period starts at once (the data has no break);
    without a speed everything is due at once."""
    plan = plan_match(SAUDI)
    assert schedule(plan, None) == [0.0] * len(plan.steps)
    due = schedule(plan, 60.0)
    assert due[0] == 0.0
    assert due[1] == pytest.approx((9 * 60 + 14) / 60)
    assert due[2] == pytest.approx((51 * 60 + 23) / 60)
    assert due[3] == due[2]  # 51:23 -> 45:00: the second half follows at once
    assert due[4] == pytest.approx(due[3] + (2 * 60 + 22) / 60)
    assert schedule(plan, 1.0)[1] == 9 * 60 + 14
    with pytest.raises(ValueError):
        schedule(plan, 0)


def test_timeline_merges_as_the_data_readme_says() -> None:
    """Same second: events first, then substitutions in list order."""
    goal = ev(1, 30, 0, "goal", team="home")
    subs = [{"period": 1, "minute": 30, "second": 0, "n": 1}, {"period": 1, "minute": 29, "second": 59, "n": 2}]
    assert [kind for kind, _ in timeline([goal], subs)] == ["substitution", "event", "substitution"]


def test_real_file_plans_and_goal_counts_match_final() -> None:
    """Every real match plans cleanly, ids are distinct, and counting goals gives `final`."""
    plans = load_plans(shared_data_file().read_text(encoding="utf-8"))
    assert len(plans) == len(json.loads(shared_data_file().read_text(encoding="utf-8")))
    for plan in plans:
        goals = {"home": 0, "away": 0}
        for event in plan.events:
            if event["type"] == "goal":
                goals[event["team"]] += 1
        assert goals == plan.expected, plan.match_id
        assert plan.events[0]["type"] == "period_start"
        assert plan.events[-1] == {**plan.events[-1], "type": "period_end", "final": True}
        kicks = [e for e in plan.events if e["type"] == "shootout_kick"]
        if plan.shootout is not None:
            assert plan.shootout_replayed
            for side in ("home", "away"):
                assert sum(k["scored"] for k in kicks if k["team"] == side) == plan.shootout[side]
        else:
            assert not kicks


def test_cli_parser_wires_run_replay() -> None:
    """The sub-command parses its options and points at run_replay."""
    parser = argparse.ArgumentParser()
    replay.add_replay_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["replay", "f.json", "--url", "http://h:1", "--key", "k", "--speed", "60", "--prefix", "p"])
    assert (args.file, args.url, args.key, args.speed, args.prefix) == ("f.json", "http://h:1", "k", 60.0, "p")
    assert args.func is replay.run_replay


# --------------------------------------------------------------------------- end to end


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The real service as a subprocess on a free port and a fresh SQLite file."""
    process = ServerProcess(port=free_port(), db=tmp_path / "replay.db", api_key=API_KEY)
    process.start()
    try:
        yield process.url
    finally:
        process.stop()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        yield session


async def _wait_healthy(http: aiohttp.ClientSession, url: str) -> None:
    for _ in range(100):
        try:
            async with http.get(f"{url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    pytest.fail("GET /healthz never answered 200")


async def _event_seqs(http: aiohttp.ClientSession, url: str, match_id: str) -> list[int]:
    async with http.get(f"{url}/api/matches/{match_id}/events", params={"since": "0"}) as response:
        assert response.status == 200
        return [event["seq"] for event in (await response.json())["events"]]


PERIOD_ENDS = {1: 45, 2: 90, 3: 105, 4: 120}


def recorded_outcome(record: dict[str, Any]) -> tuple[str, str]:
    """(winner, decided_by) as a fan reads the record: the score, else the shootout."""
    final, shootout = record["final"], record.get("shootout")
    if final["home"] != final["away"]:
        winner = "home" if final["home"] > final["away"] else "away"
    elif shootout:
        winner = "home" if shootout["home"] > shootout["away"] else "away"
    else:
        winner = "draw"
    if shootout:
        return winner, "penalties"
    return winner, "extra_time" if any(e["period"] >= 3 for e in record["events"]) else "normal_time"


async def _get(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_replay_every_real_match_and_again(server: str, http: aiohttp.ClientSession) -> None:
    """Every real match replays to its recorded final score, shootout, winner and fixture, read
    back through the public API; stoppage-time moments read 45+N' / 90+N'; a second replay
    adds nothing."""
    await _wait_healthy(http, server)
    data = shared_data_file()
    records = {plan_match(r).match_id: r for r in json.loads(data.read_text(encoding="utf-8"))}
    expected = {plan.match_id: plan for plan in load_plans(data.read_text(encoding="utf-8"))}

    lines: list[str] = []
    first = await replay.replay_file(data, server, API_KEY, None, session=http, report=lines.append)
    assert [r.error for r in first] == [None] * len(expected)
    assert sum(line.startswith("start ") for line in lines) == len(expected)
    for result in first:
        plan, record = expected[result.match_id], records[result.match_id]
        assert result.created and result.posted == len(plan.events) and result.repeated == 0
        view = await _get(http, f"{server}/api/matches/{result.match_id}")
        assert view["score"] == record["final"], result.match_id
        assert view["status"] == "finished"
        assert (view["winner"], view["decided_by"]) == recorded_outcome(record), result.match_id
        shootout = view["shootout"]
        if record.get("shootout"):
            assert {"home": shootout["home"], "away": shootout["away"]} == record["shootout"]
            assert [(k["team"], k["scored"]) for k in shootout["kicks"]] == [
                (k["team"], k["scored"]) for k in record["shootout_kicks"]]
            assert view["status_label"] == "Pens"
        else:
            assert shootout is None
        assert (view["starts_at"], view["competition"], view["stage"], view["venue"]) == (
            record["kickoff_utc"], record["competition"], record["stage"], record["venue"])
        assert result.ok, result.problems
        log = (await _get(http, f"{server}/api/matches/{result.match_id}/events"))["events"]
        subs = [e for e in log if e["type"] == "substitution"]
        assert [(e["player_in"], e["player_out"]) for e in subs] == [
            (s["player_in"], s["player_out"]) for s in record["substitutions"]]
        for moment in [*record["events"], *record["substitutions"]]:
            end = PERIOD_ENDS[moment["period"]]
            if moment.get("type", "substitution") in ("goal", "yellow_card", "red_card", "substitution") \
                    and moment["minute"] + 1 > end:
                name = moment.get("player") or moment.get("player_in")
                stored = next(e for e in log if name in (e.get("player"), e.get("player_in"))
                              and e.get("minute") == moment["minute"] + 1)
                assert stored["minute_label"] == f"{end}+{moment['minute'] + 1 - end}'", stored

    final = await _get(http, f"{server}/api/matches/2022-12-18-argentina-france")
    assert (final["score"], final["status_label"], final["winner"], final["decided_by"]) == (
        {"home": 3, "away": 3}, "Pens", "home", "penalties")
    assert final["result"] == "Argentina win 4–2 on penalties"
    assert any(line.startswith("ok   Argentina 3-3 France (AET), Argentina win 4-2 on penalties") for line in lines)
    final_log = (await _get(http, f"{server}/api/matches/2022-12-18-argentina-france/events"))["events"]
    labels = {(e.get("player"), e["minute_label"]) for e in final_log if e["type"] == "card"}
    assert ("Enzo Fernandez", "45+7'") in labels and ("Marcos Javier Acuña", "90+8'") in labels
    tables = await _get(http, f"{server}/api/competitions/fifa-world-cup-2022/standings")
    assert {t["stage"] for t in tables["tables"]} == {"Group Stage"}

    seqs_before = {mid: await _event_seqs(http, server, mid) for mid in expected}
    assert all(seqs == list(range(1, len(expected[mid].events) + 1)) for mid, seqs in seqs_before.items())
    second = await replay.replay_file(data, server, API_KEY, None, session=http)
    assert [r.error for r in second] == [None] * len(expected)
    assert all(r.ok and not r.created and r.posted == 0 for r in second)
    assert [r.repeated for r in second] == [len(expected[r.match_id].events) for r in second]
    assert {mid: await _event_seqs(http, server, mid) for mid in expected} == seqs_before


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_real_time_pacing_runs_the_clock_as_the_data_did(server: str, http: aiohttp.ClientSession) -> None:
    """At speed 600 a 10-minute stretch takes a second, and the page clock shows the data's
    minutes at each event whatever the speed."""
    await _wait_healthy(http, server)
    record = {"date": "2030-01-01", "home": "Slow", "away": "Clock", "final": {"home": 1, "away": 0},
              "events": [ev(1, 0, 0, "kickoff"), ev(1, 9, 59, "goal", team="home", player="Early"),
                         ev(1, 10, 30, "full_time")]}
    plan = plan_match(record)
    started = time.monotonic()
    [result] = await replay.replay_plans([plan], server, API_KEY, 600.0, session=http)
    elapsed = time.monotonic() - started
    assert result.ok, (result.error, result.problems)
    assert 1.0 <= elapsed < 5.0
    view = await _get(http, f"{server}/api/matches/{plan.match_id}")
    assert view["clock"] == {**view["clock"], "running": False, "elapsed": 630.0}
    log = (await _get(http, f"{server}/api/matches/{plan.match_id}/events"))["events"]
    goal = next(e for e in log if e["type"] == "goal")
    assert goal["minute_label"] == "10'"


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_cli_reports_each_match_and_fails_on_bad_key(server: str, http: aiohttp.ClientSession) -> None:
    """The CLI prints a line as each match starts and ends and exits 0 when all agree; a wrong
    key gives exit 1."""
    await _wait_healthy(http, server)
    data = str(shared_data_file())
    base = [sys.executable, "-m", "scoreboard", "replay", data, "--url", server, "--prefix", "cli"]

    def run(key: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, "--key", key], cwd=REPO, capture_output=True, text=True, timeout=60)

    good = await asyncio.to_thread(run, API_KEY)
    assert good.returncode == 0, good.stdout + good.stderr
    lines = good.stdout.strip().splitlines()
    count = len(json.loads(Path(data).read_text(encoding="utf-8")))
    assert sum(line.startswith("start ") for line in lines) == count
    finished = [line for line in lines if line.startswith(("ok", "DIFF"))]
    assert len(finished) == count and all(line.startswith("ok") and "[cli-" in line for line in finished)
    assert lines[-1] == f"{count} matches: {count} as recorded, 0 differ"

    bad = await asyncio.to_thread(run, "not-a-key")
    assert bad.returncode == 1
    assert "401" in bad.stdout and "DIFF" in bad.stdout
