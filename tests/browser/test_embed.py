"""Embedding on another origin: the script widget (Shadow DOM, one shared connection) and the iframe."""
from __future__ import annotations

import gzip
from typing import Any

import pytest

from .conftest import ARTIFACTS, HostSite, ROOT, ServerProcess, expect, unique_id

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
        expect(card.locator(".st")).to_have_text("1st half")   # the sport's own words
        expect(card.locator(".d")).to_have_class("d live")
    expect(compact_card.locator(".a")).to_have_text("Wolves")
    expect(frame.locator("#conn")).to_have_attribute("data-state", "live")

    server.post(first, {"type": "goal", "team": "away", "player": "Stripes", "minute": 12})
    server.post(second, {"type": "period_start"}, {"type": "goal", "team": "home"})
    for card in (script_card, placeholder_card):
        expect(card.locator(".as")).to_have_text("1")
        expect(card.locator(".l")).to_contain_text("Stripes")
    expect(compact_card.locator(".hs")).to_have_text("1")
    expect(frame.locator(".score-away")).to_have_text("1")
    expect(frame.locator(".last-event")).to_contain_text("Stripes")

    # The host page's hostile CSS does not reach into the card.
    color = script_card.locator(".h").evaluate("el => getComputedStyle(el).color")
    assert color != "rgb(255, 0, 0)"
    assert script_card.locator(".hs").is_visible()

    opened, still_open = page.evaluate("[window.__opened, window.__open]")
    kind = "WebSocket" if transport == "ws" else "EventSource"
    assert still_open == {kind: 1}, still_open
    if transport == "ws":
        assert opened == {kind: 1}, opened   # later widgets subscribe on the same socket


def test_embed_page_allows_framing_and_documents_snippets(server: ServerProcess, page: Any) -> None:
    """/embed shows copy-paste snippets naming this host (and the match of ?match=); /embed/{id}
    may be framed."""
    match_id = server.create_match("Lions", "Tigers", unique_id("docs"))["id"]
    response = page.goto(f"{server.url}/embed/{match_id}")
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    page.goto(f"{server.url}/embed")
    snippet = page.locator("#snippet-script")
    expect(snippet).to_contain_text(f'<script src="{server.url}/static/widget.js" data-match=')
    expect(page.locator("#snippet-iframe")).to_contain_text(f"{server.url}/embed/")
    # From the console's "Embed ↗": the guide's snippets and preview are for that match.
    page.goto(f"{server.url}/embed?match={match_id}")
    expect(snippet).to_contain_text(f'data-match="{match_id}"')
    expect(page.locator("#snippet-iframe")).to_contain_text(f"{server.url}/embed/{match_id}")
    expect(page.locator(f'.preview [data-scoreboard-match="{match_id}"] .h')).to_have_text("Lions")


PRIVATE_HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>A members' page</title></head>
<body>
<h1>Members only</h1>
<script src="{server}/static/widget.js" data-match="{private}" data-token="{token}" async></script>
<div class="scoreboard-widget" id="public" data-match="{public}"></div>
{tokenless}
</body></html>
"""

TOKENLESS = '<div class="scoreboard-widget" id="tokenless" data-match="{private}"></div>'


@pytest.mark.parametrize("transport", ["ws", "sse"])
def test_widget_with_a_token_shows_a_private_match_to_that_widget_only(
    server: ServerProcess, host_site: HostSite, page: Any, transport: str,
) -> None:
    """data-token opens a private match on another origin; widgets without that token get their
    own connection, never see the private match, and stay live for the public one."""
    private = unique_id("members")
    server.request("POST", "/api/matches", {"id": private, "home": "Owls", "away": "Hawks", "private": True})
    token = server.request("POST", f"/api/matches/{private}/tokens", {})["token"]
    public = server.create_match("Lions", "Tigers", unique_id("open"))["id"]
    server.post(private, {"type": "period_start"})
    server.post(public, {"type": "period_start"})
    # Over SSE one refused match fails its whole stream (401 before streaming), so the
    # tokenless private widget is part of the WebSocket run only.
    tokenless = TOKENLESS.format(private=private) if transport == "ws" else ""
    name = f"members-{transport}.html"
    host_site.pages[name] = PRIVATE_HOST_PAGE.format(
        server=server.url, private=private, token=token, public=public, tokenless=tokenless)
    urls: list[str] = []
    page.on("websocket", lambda ws: urls.append(ws.url))
    page.on("request", lambda r: urls.append(r.url) if "/sse?" in r.url else None)
    page.add_init_script(COUNT_CONNECTIONS)
    page.goto(f"{host_site.url}/{name}?transport={transport}")

    owner = page.locator(f'[data-scoreboard-match="{private}"]:not(#tokenless)')
    open_card = page.locator("#public")
    expect(owner.locator(".h")).to_have_text("Owls")
    expect(owner.locator(".st")).to_have_text("1st half")
    expect(open_card.locator(".h")).to_have_text("Lions")
    expect(owner.locator(".d")).to_have_class("d live")
    expect(open_card.locator(".d")).to_have_class("d live")

    server.post(private, {"type": "goal", "team": "home", "player": "Secret"})
    server.post(public, {"type": "goal", "team": "away"})
    expect(owner.locator(".hs")).to_have_text("1")
    expect(owner.locator(".l")).to_contain_text("Secret")
    expect(open_card.locator(".as")).to_have_text("1")

    kind = "WebSocket" if transport == "ws" else "EventSource"
    assert page.evaluate("window.__open") == {kind: 2}     # one per token, none shared
    with_token = [u for u in urls if f"token={token}" in u]
    without = [u for u in urls if "token=" not in u]
    assert with_token and without, urls
    if transport == "sse":
        assert all(private not in u for u in without), urls
        return
    refused = page.locator("#tokenless")
    expect(refused.locator(".st")).to_have_text("Private match")
    assert refused.locator(".h").text_content() == ""
    assert refused.locator(".hs").text_content() == "" and not refused.locator(".hs").is_visible()
    expect(refused.locator("a")).to_be_hidden()   # nothing to link to
    assert "Secret" not in (refused.locator(".l").text_content() or "")
    expect(open_card.locator(".d")).to_have_class("d live")   # the refusal closed nothing
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "private-widget.png"), full_page=True)
