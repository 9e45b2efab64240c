"""The HTTP API against a real app on a temp SQLite file."""
from __future__ import annotations

import asyncio

import pytest

from support import AUTH, create_match, post_events


async def test_create_match_answers_201_with_location(client):
    """POST /api/matches creates a scheduled 0-0 match and says where it lives."""
    response = await client.post("/api/matches", json={"home": "Canada", "away": "Morocco"}, headers=AUTH)
    assert response.status == 201
    body = await response.json()
    assert body["id"] == "canada-v-morocco"
    assert response.headers["Location"] == "/api/matches/canada-v-morocco"
    assert body["status"] == "scheduled" and body["score"] == {"home": 0, "away": 0} and body["seq"] == 0
    again = await client.get(response.headers["Location"])
    assert (await again.json())["home"] == "Canada"


async def test_posting_events_returns_seqs_and_score(client):
    """One event or a list; the answer carries seq, id and the new score."""
    await create_match(client)
    first = await post_events(client, "arg-fra", {"type": "period_start"})
    assert first["seq"] == 1 and first["events"][0]["type"] == "period_start"
    batch = await post_events(client, "arg-fra", [
        {"type": "goal", "team": "home", "player": "Messi", "minute": 23, "penalty": True},
        {"type": "goal", "team": "away", "player": "Mbappé", "minute": 80},
    ])
    assert [e["seq"] for e in batch["events"]] == [2, 3]
    assert batch["seq"] == 3 and batch["score"] == {"home": 1, "away": 1}
    match = await (await client.get("/api/matches/arg-fra")).json()
    assert match["score"] == {"home": 1, "away": 1} and match["seq"] == 3 and match["status"] == "live"


async def test_events_since_lists_in_seq_order(client):
    await create_match(client)
    await post_events(client, "arg-fra", [{"type": "period_start"}] + [{"type": "goal", "team": "home"}] * 4)
    events = (await (await client.get("/api/matches/arg-fra/events?since=2")).json())["events"]
    assert [e["seq"] for e in events] == [3, 4, 5]


async def test_list_filters_by_status(client):
    await create_match(client, "a")
    await create_match(client, "b")
    await post_events(client, "b", {"type": "period_start"})
    live = (await (await client.get("/api/matches?status=live")).json())["matches"]
    assert [m["id"] for m in live] == ["b"]
    response = await client.get("/api/matches?status=sleeping")
    assert response.status == 422


async def test_retry_with_same_id_answers_200_and_adds_nothing(client):
    """A repeat returns the original result with 200; the score is counted once."""
    await create_match(client)
    await post_events(client, "arg-fra", {"type": "period_start"})
    goal = {"type": "goal", "team": "home", "id": "press-1"}
    first = await post_events(client, "arg-fra", goal)
    await post_events(client, "arg-fra", {"type": "goal", "team": "away"})
    repeat = await post_events(client, "arg-fra", goal, status=200)
    assert repeat["events"] == first["events"]
    assert repeat["score"] == first["score"] == {"home": 1, "away": 0}
    match = await (await client.get("/api/matches/arg-fra")).json()
    assert match["seq"] == 3 and match["score"] == {"home": 1, "away": 1}


async def test_concurrent_retries_store_once(client):
    """Ten copies of one press racing each other store one event."""
    await create_match(client)
    await post_events(client, "arg-fra", {"type": "period_start"})
    goal = {"type": "goal", "team": "home", "id": "double-tap"}
    responses = await asyncio.gather(*(
        client.post("/api/matches/arg-fra/events", json=goal, headers=AUTH) for _ in range(10)
    ))
    assert sorted(r.status for r in responses) == [200] * 9 + [201]
    match = await (await client.get("/api/matches/arg-fra")).json()
    assert match["score"]["home"] == 1 and match["seq"] == 2


async def test_retract_disallows_a_goal(client):
    await create_match(client)
    await post_events(client, "arg-fra", [{"type": "period_start"}, {"type": "goal", "team": "away", "id": "g"}])
    result = await post_events(client, "arg-fra", {"type": "retract", "target_id": "g", "reason": "VAR: offside"})
    assert result["score"] == {"home": 0, "away": 0}
    match = await (await client.get("/api/matches/arg-fra")).json()
    assert match["retracted"] == [2]


async def test_expected_seq_conflict_is_409(client):
    await create_match(client)
    await post_events(client, "arg-fra", {"type": "period_start", "expected_seq": 0})
    body = await post_events(client, "arg-fra", {"type": "goal", "team": "home", "expected_seq": 0}, status=409)
    assert body["error"]["code"] == "seq_conflict"


async def test_finished_match_is_409(client):
    await create_match(client)
    await post_events(client, "arg-fra", [{"type": "period_start"}, {"type": "period_end", "final": True}])
    body = await post_events(client, "arg-fra", {"type": "goal", "team": "home"}, status=409)
    assert body["error"]["code"] == "match_closed"


async def test_duplicate_match_is_409(client):
    await create_match(client)
    response = await client.post("/api/matches", json={"id": "arg-fra", "home": "A", "away": "B"}, headers=AUTH)
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "match_exists"


def assert_error_shape(body, code):
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


@pytest.mark.parametrize("data, headers, status, code", [
    (b'{"type": "goal",', {"Content-Type": "application/json"}, 400, "bad_json"),
    (b'\xff\xfe', {"Content-Type": "application/json"}, 400, "bad_json"),
    (b'{"type": "goal", "team": "home"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    (b'{"type": "goal", "team": "middle"}', {"Content-Type": "application/json"}, 422, "validation_failed"),
    (b'{"type": "own_goal_by_referee"}', {"Content-Type": "application/json"}, 422, "validation_failed"),
    (b'{"type": "goal", "team": "home", "colour": "red"}', {"Content-Type": "application/json"}, 422, "validation_failed"),
    (b'{"type": "goal", "team": "home", "minute": 1.5}', {"Content-Type": "application/json"}, 422, "validation_failed"),
    (b'[]', {"Content-Type": "application/json"}, 422, "validation_failed"),
    (b'"goal"', {"Content-Type": "application/json"}, 422, "validation_failed"),
    (b'{"type": "retract"}', {"Content-Type": "application/json"}, 422, "validation_failed"),
    (b'{"type": "retract", "target": 77}', {"Content-Type": "application/json"}, 422, "validation_failed"),
    (b'{"type": "goal", "team": "home"}', {"Content-Type": "application/json", "Authorization": "Bearer nope"}, 401, "unauthorized"),
    (b'{"type": "goal", "team": "home"}', {"Content-Type": "application/json", "Authorization": "Basic dGVzdA=="}, 401, "unauthorized"),
    (b'{"type": "goal", "team": "home"}', {"Content-Type": "application/json", "Authorization": "Bearer scoped-key"}, 403, "forbidden"),
])
async def test_client_mistakes_get_clear_errors_and_store_nothing(client, data, headers, status, code):
    """Every mistake is a 4xx in the documented shape, and the log is untouched."""
    await create_match(client)
    await post_events(client, "arg-fra", {"type": "period_start"})
    all_headers = {**AUTH, **headers}
    response = await client.post("/api/matches/arg-fra/events", data=data, headers=all_headers)
    assert response.status == status
    assert_error_shape(await response.json(), code)
    match = await (await client.get("/api/matches/arg-fra")).json()
    assert match["seq"] == 1 and match["score"] == {"home": 0, "away": 0}


async def test_validation_errors_name_the_fields(client):
    await create_match(client)
    response = await client.post("/api/matches/arg-fra/events", headers=AUTH,
                                 json=[{"type": "goal", "team": "home"}, {"type": "card", "team": "x"}])
    body = await response.json()
    assert response.status == 422
    assert set(body["error"]["fields"]["1"]) == {"team", "color"}


async def test_missing_key_is_401_and_unknown_match_is_404(client):
    response = await client.post("/api/matches/arg-fra/events", json={"type": "period_start"})
    assert response.status == 401
    response = await client.post("/api/matches/nowhere/events", json={"type": "period_start"}, headers=AUTH)
    assert response.status == 404
    assert_error_shape(await response.json(), "not_found")
    response = await client.get("/api/nothing-here")
    assert response.status == 404
    assert_error_shape(await response.json(), "not_found")


async def test_body_too_large_is_413(client):
    await create_match(client)
    huge = b'{"type": "notification", "title": "' + b"x" * 200_000 + b'"}'
    response = await client.post("/api/matches/arg-fra/events", data=huge,
                                 headers={**AUTH, "Content-Type": "application/json"})
    assert response.status == 413
    assert_error_shape(await response.json(), "too_large")


async def test_wrong_method_is_405_json(client):
    response = await client.delete("/api/matches")
    assert response.status == 405
    assert_error_shape(await response.json(), "method_not_allowed")


async def test_bad_match_ids_and_fields_on_create_are_422(client):
    response = await client.post("/api/matches", json={"id": "Bad Id!", "home": "", "away": "B"}, headers=AUTH)
    assert response.status == 422
    assert set((await response.json())["error"]["fields"]) == {"id", "home"}


async def test_unknown_page_in_a_browser_is_an_html_404(client):
    """A person gets a page in the site's look; an API client still gets JSON."""
    response = await client.get("/no/such/page", headers={"Accept": "text/html"})
    assert response.status == 404
    assert response.content_type == "text/html"
    assert "Not found" in await response.text()
