"""Embedding on another origin: the script widget (Shadow DOM, one shared connection) and the iframe."""
from __future__ import annotations

import gzip
from typing import Any

import pytest

from .conftest import HostSite, ROOT, ServerProcess, expect, unique_id

WIDGET_BUDGET = 8 * 1024

COUNT_CONNECTIONS = """
if (window.top === window) {
  window.__opened = {};
  window.__open = {};
  for (const name of ["WebSocket", "EventSource"]) {
    const Original = window[name];
    window[name] = class extends Original {
      constructor(...args) {
        super(...args);
        window.__opened[name] = (window.__opened[name] || 0) + 1;
        window.__open[name] = (window.__open[name] || 0) + 1;
      }
      close(...args) {
        window.__open[name] -= 1;
        return super.close(...args);
      }
    };
  }
}
"""

HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>A fan club</title>
<style>* {{ color: rgb(255, 0, 0) !important; font-size: 31px !important; }}
div {{ border: 4px dashed red; }} b, span {{ display: none !important; }}</style></head>
<body>
<h1>Our club's page</h1>
<script src="{server}/static/widget.js" data-match="{first}" async></script>
<p>Some text between widgets.</p>
<script src="{server}/static/widget.js" data-match="{second}" data-theme="dark" data-compact async></script>
<div class="scoreboard-widget" data-match="{first}"></div>
<iframe id="frame" src="{server}/embed/{first}?theme=dark" title="Live score" width="360" height="150"></iframe>
</body></html>
"""


def test_widget_fits_the_size_budget() -> None:
    """widget.js stays within 8 KB gzipped."""
    size = len(gzip.compress((ROOT / "static" / "widget.js").read_bytes(), compresslevel=9))
    assert size <= WIDGET_BUDGET, f"widget.js is {size} bytes gzipped"


@pytest.mark.parametrize("transport", ["ws", "sse"])
def test_widget_and_iframe_on_another_origin_update_live(
    server: ServerProcess, host_site: HostSite, page: Any, transport: str,
) -> None:
    """A page on another origin shows both embeds live; all widgets share one connection."""
    first = server.create_match("Lions", "Tigers", unique_id("lions"))["id"]
    second = server.create_match("Bears", "Wolves", unique_id("bears"))["id"]
    server.post(first, {"type": "period_start"})
    name = f"club-{transport}.html"
    host_site.pages[name] = HOST_PAGE.format(server=server.url, first=first, second=second)
    # Count the connections the host page itself opens (the iframe has its own).
    page.add_init_script(COUNT_CONNECTIONS)
    page.goto(f"{host_site.url}/{name}?transport={transport}")
    widgets = page.locator(f'[data-scoreboard-match="{first}"]')
    expect(widgets).to_have_count(2)
    script_card = widgets.first
    placeholder_card = widgets.last
    compact_card = page.locator(f'[data-scoreboard-match="{second}"]')
    frame = page.frame_locator("#frame")
    for card in (script_card, placeholder_card):
        expect(card.locator(".h")).to_have_text("Lions")
        expect(card.locator(".st")).to_have_text("Live")
        expect(card.locator(".d")).to_have_class("d live")
    expect(compact_card.locator(".a")).to_have_text("Wolves")
    expect(frame.locator("#conn")).to_have_attribute("data-state", "live")

    server.post(first, {"type": "goal", "team": "away", "player": "Stripes", "minute": 12})
    server.post(second, {"type": "period_start"}, {"type": "goal", "team": "home"})
    for card in (script_card, placeholder_card):
        expect(card.locator(".sc span").last).to_have_text("1")
        expect(card.locator(".l")).to_contain_text("Stripes")
    expect(compact_card.locator(".sc span").first).to_have_text("1")
    expect(frame.locator(".score-away")).to_have_text("1")
    expect(frame.locator(".last-event")).to_contain_text("Stripes")

    # The host page's hostile CSS does not reach into the card.
    color = script_card.locator(".h").evaluate("el => getComputedStyle(el).color")
    assert color != "rgb(255, 0, 0)"
    assert script_card.locator(".sc span").first.is_visible()

    opened, still_open = page.evaluate("[window.__opened, window.__open]")
    kind = "WebSocket" if transport == "ws" else "EventSource"
    assert still_open == {kind: 1}, still_open
    if transport == "ws":
        assert opened == {kind: 1}, opened   # later widgets subscribe on the same socket


def test_embed_page_allows_framing_and_documents_snippets(server: ServerProcess, page: Any) -> None:
    """/embed shows copy-paste snippets naming this host; /embed/{id} may be framed."""
    match_id = server.create_match("Lions", "Tigers", unique_id("docs"))["id"]
    response = page.goto(f"{server.url}/embed/{match_id}")
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    page.goto(f"{server.url}/embed")
    snippet = page.locator("#snippet-script")
    expect(snippet).to_contain_text(f'<script src="{server.url}/static/widget.js" data-match=')
    expect(page.locator("#snippet-iframe")).to_contain_text(f"{server.url}/embed/")
