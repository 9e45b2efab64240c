"""The script widget and the /embed/{id} card as a host page's readers see them: the minute
ticking on the server's clock, scorers under each team (not in the compact line) and the
result line of a shootout."""
from __future__ import annotations

import time
from typing import Any

from .conftest import HostSite, ServerProcess, expect, unique_id

HOST = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Scores</title></head><body>
<script src="{server}/static/widget.js" data-match="{live}" async></script>
<script src="{server}/static/widget.js" data-match="{live}" data-compact async></script>
<script src="{server}/static/widget.js" data-match="{decided}" async></script>
<iframe id="card" src="{server}/embed/{live}" title="Live score" width="360" height="190"></iframe>
<iframe id="line" src="{server}/embed/{live}?compact=1" title="Live score" width="360" height="60"></iframe>
<iframe id="decided" src="{server}/embed/{decided}" title="Result" width="360" height="190"></iframe>
</body></html>
"""


def shootout_match(server: ServerProcess) -> str:
    """Argentina 1–1 France after extra time, Argentina through 4–2 on penalties."""
    match_id = unique_id("pens")
    server.request("POST", "/api/matches", {"id": match_id, "home": "Argentina", "away": "France"})
    events: list[dict[str, Any]] = []
    for period in (1, 2, 3, 4):
        events.append({"type": "period_start", "period": period})
        if period == 1:
            events.append({"type": "goal", "team": "home", "player": "Messi", "minute": 23})
        if period == 2:
            events.append({"type": "goal", "team": "away", "player": "Mbappé", "minute": 80, "penalty": True})
        events.append({"type": "period_end"})
    events.append({"type": "period_start", "period": 5})
    for side, scored in (("away", True), ("home", True), ("away", False), ("home", True),
                         ("away", False), ("home", True), ("away", True), ("home", True)):
        events.append({"type": "shootout_kick", "team": side, "scored": scored})
    events.append({"type": "period_end", "final": True})
    server.post(match_id, *events)
    return match_id


def test_widget_and_iframe_tick_list_scorers_and_say_who_won(
    server: ServerProcess, host_site: HostSite, page: Any,
) -> None:
    """On a host page whose reader's clock runs ten minutes fast, the widget and the iframe card
    tick the server's minute (1' then 2', never 11'), list the scorers unless compact, and a
    decided shootout reads "Argentina win 4–2 on penalties"."""
    live = unique_id("wlive")
    server.request("POST", "/api/matches", {"id": live, "home": "Lions", "away": "Tigers"})
    server.post(live, {"type": "period_start"}, {"type": "clock", "action": "set", "elapsed": 55},
                {"type": "goal", "team": "home", "player": "Mane", "minute": 1, "penalty": True})
    decided = shootout_match(server)
    host_site.pages["ticking.html"] = HOST.format(server=server.url, live=live, decided=decided)
    page.clock.install(time=time.time() + 600)
    page.goto(f"{host_site.url}/ticking.html")

    full, compact = (page.locator(f'[data-scoreboard-match="{live}"]').nth(i) for i in (0, 1))
    card, line = page.frame_locator("#card"), page.frame_locator("#line")
    expect(full.locator(".d")).to_have_class("d live")
    for clock in (full.locator(".ck"), compact.locator(".ck"), card.locator(".clock"), line.locator(".clock")):
        expect(clock).to_have_text("1'")
    for clock in (full.locator(".ck"), compact.locator(".ck"), card.locator(".clock"), line.locator(".clock")):
        expect(clock).to_have_text("2'", timeout=8000)

    expect(full.locator(".s").first).to_have_text("Mane 1' (pen.)")
    expect(card.locator(".scorers-home")).to_have_text("Mane 1' (pen.)")
    expect(compact.locator(".s").first).to_be_hidden()
    expect(line.locator(".embed-scorers")).to_have_count(0)
    server.post(live, {"type": "goal", "team": "away", "player": "Stripes", "minute": 2})
    expect(full.locator(".s").last).to_have_text("Stripes 2'")
    expect(card.locator(".scorers-away")).to_have_text("Stripes 2'")
    expect(compact.locator(".as")).to_have_text("1")

    won = page.locator(f'[data-scoreboard-match="{decided}"]')
    expect(won.locator(".l")).to_have_text("Argentina win 4–2 on penalties")
    expect(won.locator(".st")).to_have_text("Pens")
    expect(won.locator(".ck")).to_have_text("")
    expect(won.locator(".s").first).to_have_text("Messi 23'")
    result = page.frame_locator("#decided")
    expect(result.locator(".result")).to_have_text("Argentina win 4–2 on penalties")
    expect(result.locator(".clock")).to_be_hidden()
    expect(result.locator(".scorers-away")).to_have_text("Mbappé 80' (pen.)")
