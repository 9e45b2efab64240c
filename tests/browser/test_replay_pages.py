"""The real World Cup final, replayed as a scorekeeper would, on the page of a fan who watched
it live: Argentina win 4–2 on penalties, stoppage time as 45+N' / 90+N', and what arrived live
reads exactly as the page the server paints afterwards."""
from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from tests.test_replay import shared_data_file

from .conftest import API_KEY, ROOT, ApiError, ServerProcess, expect, unique_id

# What a fan reads of the match page (text as shown, hidden parts left out).
READ_PAGE = """() => {
  const text = (selector) => [...document.querySelectorAll(selector)].map((el) => el.innerText.trim());
  return {
    hero: text(".hero .scoreline, .hero .meta, .hero .result, .hero .scorers, .hero .match-facts"),
    shootout: text("#shootout"),
    timeline: text("#timeline li"),
    title: document.title,
  };
}"""


def replay(server: ServerProcess, prefix: str, speed: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "scoreboard", "replay", str(shared_data_file()), "--url", server.url,
         "--key", API_KEY, "--speed", speed, "--prefix", prefix],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def wait_for_match(server: ServerProcess, match_id: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.match(match_id)
            return
        except ApiError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_world_cup_final_replayed_live_reads_as_its_first_paint(server: ServerProcess, page: Any) -> None:
    """Watched live through a replay of the real data, the final's page ends with "Argentina
    win 4–2 on penalties", the shootout 4–2 kick by kick, Messi's 23' (pen.) and 108', Enzo
    Fernández's card at 45+7' and Acuña's at 90+8'; reloading it changes nothing a fan reads."""
    prefix = f"{unique_id('wc')}-"
    final = f"{prefix}2022-12-18-argentina-france"
    process = replay(server, prefix, "600")
    try:
        wait_for_match(server, final)
        page.goto(f"{server.url}/matches/{final}")
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        output, _ = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output.decode(errors="replace")

    result = page.locator(".hero .result")
    expect(result).to_have_text("Argentina win 4–2 on penalties", timeout=15000)
    expect(page.locator(".hero .status")).to_have_text("Pens")
    expect(page.locator("#match .score-home")).to_have_text("3")
    expect(page.locator("#match .score-away")).to_have_text("3")
    expect(page.locator('.so-row[data-side="home"] .so-score')).to_have_text("4")
    expect(page.locator('.so-row[data-side="away"] .so-score')).to_have_text("2")
    expect(page.locator(".scorers-home li").first).to_have_text("Lionel Andrés Messi Cuccittini 23' (pen.), 108'")
    expect(page.locator(".scorers-away li")).to_have_text(["Kylian Mbappé Lottin 80' (pen.), 81', 118' (pen.)"])
    timeline = page.locator("#timeline")
    expect(timeline.locator("li", has_text="Enzo Fernandez").locator(".ev-minute")).to_have_text("45+7'")
    expect(timeline.locator("li", has_text="Marcos Javier Acuña").filter(has_text="Yellow card")
           .locator(".ev-minute")).to_have_text("90+8'")
    expect(timeline.locator("li", has_text="Olivier Giroud").filter(has_text="Yellow card")
           .locator(".ev-minute")).to_have_text("90+5'")
    expect(timeline.locator("li.ev-period_end", has_text="End of normal time")).to_have_count(1)
    expect(timeline.locator("li.ev-period_start", has_text="Penalty shootout")).to_have_count(1)
    expect(timeline.locator("li.ev-substitution")).to_have_count(13)
    expect(timeline.locator("li.ev-shootout_kick")).to_have_count(8)
    expect(page.locator("#conn")).to_be_hidden()
    expect(page.locator(".notify-toggle")).to_have_count(0)

    watched = page.evaluate(READ_PAGE)
    page.reload()
    expect(result).to_have_text("Argentina win 4–2 on penalties")
    assert page.evaluate(READ_PAGE) == watched
