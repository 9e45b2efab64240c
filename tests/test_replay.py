"""The replay tool: the pure mapping from real-match data, and a full replay against the real server."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
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
    pacing_delays,
    plan_match,
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
    """Each source type maps to our event, ids follow match order, and planning is repeatable."""
    plan = plan_match(SAUDI)
    assert plan.match_id == "2022-11-22-argentina-saudi-arabia"
    assert plan.expected == {"home": 1, "away": 2}
    assert [e["id"] for e in plan.events] == [event_client_id(plan.match_id, i) for i in range(7)]
    assert plan.events[0] == {"id": plan.events[0]["id"], "type": "period_start", "period": 1}
    assert plan.events[1] == {
        "id": plan.events[1]["id"],
        "type": "goal",
        "team": "home",
        "player": "Messi",
        "minute": 10,
        "own_goal": False,
        "penalty": True,
    }
    assert {k: v for k, v in plan.events[2].items() if k != "id"} == {"type": "period_end"}
    assert plan.events[3]["type"] == "period_start" and plan.events[3]["period"] == 2
    assert {k: v for k, v in plan.events[6].items() if k != "id"} == {"type": "period_end", "final": True}
    assert plan_match(SAUDI) == plan


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


def test_slug_folds_accents_and_takes_prefix() -> None:
    """Ids are valid slugs: ASCII, lower-case, dashes, prefix first, at most 64 characters."""
    assert match_slug("2022-12-01", "Côte d'Ivoire", "São Tomé", "T1") == "t1-2022-12-01-cote-d-ivoire-sao-tome"
    long = match_slug("2022-12-01", "A" * 80, "B")
    assert len(long) <= 64 and not long.endswith("-")


def test_pacing_uses_match_clock_and_speed() -> None:
    """--speed divides match-clock gaps; a period change (negative gap) waits nothing."""
    plan = plan_match(SAUDI)
    assert pacing_delays(plan.clock, None) == [0.0] * 7
    delays = pacing_delays(plan.clock, 60.0)
    assert delays[0] == 0.0
    assert delays[1] == pytest.approx((9 * 60 + 14) / 60)
    assert delays[3] == 0.0  # 51:23 -> 45:00
    with pytest.raises(ValueError):
        pacing_delays(plan.clock, 0)


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


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_replay_every_real_match_and_again(server: str, http: aiohttp.ClientSession) -> None:
    """Every real match replays to its recorded final score, and a second replay adds nothing."""
    await _wait_healthy(http, server)
    data = shared_data_file()
    expected = {plan.match_id: plan for plan in load_plans(data.read_text(encoding="utf-8"))}

    first = await replay.replay_file(data, server, API_KEY, None, session=http)
    assert [r.error for r in first] == [None] * len(expected)
    for result in first:
        plan = expected[result.match_id]
        assert result.created and result.posted == len(plan.events) and result.repeated == 0
        async with http.get(f"{server}/api/matches/{result.match_id}") as response:
            view = await response.json()
        assert view["score"] == plan.expected, result.match_id
        assert view["status"] == "finished"
        assert result.ok
    seqs_before = {mid: await _event_seqs(http, server, mid) for mid in expected}
    assert all(seqs == list(range(1, len(expected[mid].events) + 1)) for mid, seqs in seqs_before.items())

    second = await replay.replay_file(data, server, API_KEY, None, session=http)
    assert [r.error for r in second] == [None] * len(expected)
    assert all(r.ok and not r.created and r.posted == 0 for r in second)
    assert [r.repeated for r in second] == [len(expected[r.match_id].events) for r in second]
    assert {mid: await _event_seqs(http, server, mid) for mid in expected} == seqs_before


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_cli_reports_each_match_and_fails_on_bad_key(server: str, http: aiohttp.ClientSession) -> None:
    """The CLI prints a line per match and exits 0 when all agree; a wrong key gives exit 1."""
    await _wait_healthy(http, server)
    data = str(shared_data_file())
    base = [sys.executable, "-m", "scoreboard", "replay", data, "--url", server, "--prefix", "cli"]

    def run(key: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, "--key", key], cwd=REPO, capture_output=True, text=True, timeout=60)

    good = await asyncio.to_thread(run, API_KEY)
    assert good.returncode == 0, good.stdout + good.stderr
    lines = good.stdout.strip().splitlines()
    assert len(lines) == len(json.loads(Path(data).read_text(encoding="utf-8")))
    assert all(line.startswith("ok") and line.split()[1].startswith("cli-") for line in lines)

    bad = await asyncio.to_thread(run, "not-a-key")
    assert bad.returncode == 1
    assert "401" in bad.stdout and "DIFF" in bad.stdout
