"""What the server-rendered pages print about a match before any script runs."""
from __future__ import annotations

import re
from typing import Any

import aiohttp_jinja2
import pytest

from scoreboard.settings import Settings
from scoreboard.web.app import create_app
from scoreboard.web.pages import labels
from scoreboard.web.pages.modules import ModuleGraph
from scoreboard.resources import STATIC, data_dir


def view(**fields: Any) -> dict[str, Any]:
    return {"id": "m", "home": "Argentina", "away": "France", "status": "live", "period": 1,
            "seq": 3, "score": {"home": 1, "away": 0}, **fields}


@pytest.mark.parametrize("form, text", [
    ("time", "19:00"), ("day", "18 Jun 2030"), ("datetime", "18 Jun 2030, 19:00 UTC"),
])
def test_kickoff_is_printed_in_utc_and_says_so(form: str, text: str) -> None:
    """Without JavaScript a kickoff reads in UTC (the long form names the zone), from any offset."""
    assert labels.kickoff_text("2030-06-18T21:00:00+02:00", form) == text
    assert labels.kickoff_text(None, form) == ""


@pytest.mark.parametrize("fields, short", [
    ({"status": "scheduled", "starts_at": "2030-06-18T19:00:00Z"}, ""),   # the time shows instead
    ({"status": "scheduled"}, "TBC"),
    ({"status": "half_time"}, "HT"),
    ({"status": "finished"}, "FT"),
    ({"status": "finished", "decided_by": "extra_time"}, "AET"),
    ({"status": "finished", "decided_by": "penalties"}, "Pens"),
])
def test_short_status_as_score_sites_print_it(fields: dict[str, Any], short: str) -> None:
    """The fixture row's status word."""
    assert labels.short_status(view(**fields)) == short


def test_leader_is_the_winner_even_on_a_drawn_score() -> None:
    """A shootout decides a 3–3: the winner leads; otherwise the side ahead; nobody before kickoff."""
    assert labels.leader(view(score={"home": 3, "away": 3}, winner="away")) == "away"
    assert labels.leader(view(score={"home": 0, "away": 2})) == "away"
    assert labels.leader(view(score={"home": 1, "away": 1})) == ""
    assert labels.leader(view(status="scheduled", score={"home": 0, "away": 0})) == ""


def test_card_names_competition_and_stage_when_known() -> None:
    """The first paint of a card carries its stage under a competition's heading, both where no
    heading names the competition, and hides the line without."""
    env = aiohttp_jinja2.get_env(create_app(Settings()))
    card = env.get_template("_card.html").module.match_card  # type: ignore[attr-defined]
    final = view(competition="FIFA World Cup", stage="Final",
                 starts_at="2022-12-18T15:00:00+00:00", status="finished")
    html = str(card(final, "full"))
    assert re.search(r'<span class="card-context">FIFA World Cup · Final</span>', html)
    assert '<span class="status" data-status="finished" data-form="short">FT</span>' in html
    assert re.search(r'<span class="card-context">Final</span>', str(card(final)))
    assert re.search(r'<span class="card-context" hidden></span>', str(card(final, "none")))
    bare = str(card(view()))
    assert re.search(r'<span class="card-context" hidden></span>', bare)


def test_module_graph_lists_what_each_page_script_imports() -> None:
    """A page preloads its script and every module it imports, nested imports too."""
    graph = ModuleGraph(data_dir(STATIC))
    modules = graph.modules("scoreboard.js")
    assert modules[0] == "scoreboard.js"
    assert {"live.js", "match-view.js", "render.js", "notify.js", "fit.js", "time.js"} <= set(modules)
    assert "console.js" not in modules and len(set(modules)) == len(modules)
    assert "console-api.js" in graph.modules("console.js")
    assert graph.modules("widget.js") == ("widget.js",)
    assert graph.modules("") == () and graph.modules("nope.js") == ()
