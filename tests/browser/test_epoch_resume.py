"""The page client and the widget keep the log's epoch with their cursor (issue 10, item 10):
when the server comes back with its SQLite file lost and the match made again, they show the
new log (a fresh snapshot), not the new log's later events glued onto the old one."""
from __future__ import annotations

from typing import Any

import pytest

from .conftest import HostSite, ServerProcess, expect, unique_id


def restart_with_a_new_log(server: ServerProcess, match_id: str) -> None:
    """Stop the server and lose its SQLite file (an ephemeral disk); the match is made again
    and grown past the old cursor (seq 2) without a goal after it (on another port, so the
    page cannot reconnect before it exists); then the server is back on its own port."""
    server.stop()
    for path in server.db.parent.glob(server.db.name + "*"):
        path.unlink()
    elsewhere = ServerProcess(server.db)
    elsewhere.start()
    elsewhere.create_match("Home", "Away", match_id)
    elsewhere.post(match_id, {"type": "period_start"}, {"type": "goal", "team": "away", "player": "New Striker"},
                   {"type": "notification", "title": "Drinks break"}, {"type": "notification", "title": "Sub"})
    elsewhere.stop()
    server.start()


@pytest.mark.parametrize("transport", ["ws", "sse"])
def test_page_shows_the_new_log_after_the_server_lost_its_data(
    own_server: ServerProcess, page: Any, transport: str,
) -> None:
    """The match page, open across the loss, ends with exactly the new log's timeline."""
    server = own_server
    match_id = unique_id("epoch")
    server.create_match("Home", "Away", match_id)
    server.post(match_id, {"type": "period_start"}, {"type": "goal", "team": "home", "player": "Old Striker"})
    page.goto(f"{server.url}/matches/{match_id}?transport={transport}")
    conn = page.locator("#conn")
    expect(conn).to_have_attribute("data-state", "live")
    expect(page.locator("#timeline li")).to_have_count(2)

    restart_with_a_new_log(server, match_id)
    expect(conn).to_have_attribute("data-state", "live", timeout=15000)
    expect(page.locator("#timeline li")).to_have_count(4, timeout=10000)
    expect(page.locator("#timeline")).to_contain_text("New Striker")
    expect(page.locator("#timeline")).not_to_contain_text("Old Striker")
    expect(page.locator("#match .score-home")).to_have_text("0")
    expect(page.locator("#match .score-away")).to_have_text("1")


WIDGET_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>A club</title></head>
<body><script src="{server}/static/widget.js" data-match="{match}" async></script></body></html>
"""


def test_widget_shows_the_new_log_after_the_server_lost_its_data(
    own_server: ServerProcess, host_site: HostSite, page: Any,
) -> None:
    """The widget's last scorer is the new log's, not the old one's."""
    server = own_server
    match_id = unique_id("epoch-widget")
    server.create_match("Home", "Away", match_id)
    server.post(match_id, {"type": "period_start"}, {"type": "goal", "team": "home", "player": "Old Striker"})
    host_site.pages["epoch.html"] = WIDGET_PAGE.format(server=server.url, match=match_id)
    page.goto(f"{host_site.url}/epoch.html")
    card = page.locator(f'[data-scoreboard-match="{match_id}"]')
    expect(card.locator(".l")).to_contain_text("Old Striker")

    restart_with_a_new_log(server, match_id)
    expect(card.locator(".l")).to_contain_text("New Striker", timeout=15000)
    expect(card.locator(".hs")).to_have_text("0")
    expect(card.locator(".as")).to_have_text("1")
