"""A page open across a server restart ends with every event, in order, and the right score."""
from __future__ import annotations

import urllib.error
from pathlib import Path
from typing import Any

import pytest

from .conftest import ApiError, ServerProcess, expect, unique_id


@pytest.fixture
def own_server(browser: Any, tmp_path: Path) -> Any:
    """A server this test may stop and start again on the same port and SQLite file."""
    process = ServerProcess(tmp_path / "restart.db")
    process.start()
    yield process
    process.stop()


def timeline_seqs(page: Any) -> list[int]:
    return [int(s) for s in page.locator("#timeline li").evaluate_all(
        "items => items.map(li => li.dataset.seq)")]


@pytest.mark.parametrize("transport", ["ws", "sse"])
def test_page_recovers_after_server_restart(own_server: ServerProcess, page: Any, transport: str) -> None:
    """Stop and restart the server under an open page; nothing posted around it is lost."""
    server = own_server
    match_id = server.create_match("Home", "Away", unique_id("restart"))["id"]
    server.post(match_id, {"type": "period_start", "period": 1}, {"type": "goal", "team": "home"})
    page.goto(f"{server.url}/matches/{match_id}?transport={transport}")
    conn = page.locator("#conn")
    expect(conn).to_have_attribute("data-state", "live")
    server.post(match_id, {"type": "goal", "team": "away", "player": "Before"})
    expect(page.locator("#match .score-away")).to_have_text("1")

    server.stop()
    expect(conn).to_have_attribute("data-state", "reconnecting")
    with pytest.raises((urllib.error.URLError, ApiError, OSError)):
        server.post(match_id, {"type": "goal", "team": "home", "player": "Lost"})

    server.start()
    # Posted while the page is still backing off: it must be replayed from `since`.
    server.post(
        match_id, {"type": "goal", "team": "home", "player": "While away"},
        {"type": "card", "team": "away", "color": "yellow", "player": "Booked"},
    )
    expect(conn).to_have_attribute("data-state", "live", timeout=15000)
    # Posted once the page is back: it must arrive live.
    server.post(match_id, {"type": "goal", "team": "away", "player": "After"},
                {"type": "retract", "target": 4, "reason": "handball"})

    expected = server.events(match_id)
    assert [e["seq"] for e in expected] == [1, 2, 3, 4, 5, 6, 7]
    final = server.match(match_id)
    assert final["score"] == {"home": 1, "away": 2}
    expect(page.locator("#timeline li")).to_have_count(len(expected), timeout=10000)
    assert timeline_seqs(page) == [7, 6, 5, 4, 3, 2, 1]
    expect(page.locator("#match .score-home")).to_have_text("1")
    expect(page.locator("#match .score-away")).to_have_text("2")
    expect(page.locator('#timeline li[data-seq="4"]')).to_have_class("ev ev-goal retracted")
    expect(page.locator('#timeline li[data-seq="4"]')).to_contain_text("While away")
    assert page.locator("#timeline li.ev-goal", has_text="Lost").count() == 0
