"""The OpenAPI document stays true: same routes as the app, examples the app accepts, real answers that fit."""
from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema_rs

from scoreboard.domain import EVENT_TYPES
from scoreboard.web.api.openapi import EXAMPLES, build_spec
from scoreboard.settings import Settings
from scoreboard.web.app import create_app
from support import AUTH, create_match, post_events

# The document and its page describe the API; they are not part of it.
DOC_ROUTES = {("GET", "/api/openapi.json"), ("GET", "/api/docs")}


def api_routes(settings: Settings) -> set[tuple[str, str]]:
    app = create_app(settings)
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api")
        and route.method != "HEAD"
    } - DOC_ROUTES


def spec_routes(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item}


def json_schema(spec: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Draft7Validator:
    """A validator for an OpenAPI 3.0 schema: `nullable` rewritten, `$ref`s resolved in the document."""
    def convert(node: Any) -> Any:
        if isinstance(node, dict):
            node = {key: convert(value) for key, value in node.items()}
            if node.pop("nullable", False) and "type" in node:
                node["type"] = [node["type"], "null"]
            node.pop("discriminator", None)
            return node
        if isinstance(node, list):
            return [convert(item) for item in node]
        return node
    root = convert({**copy.deepcopy(schema), "components": spec["components"]})
    return jsonschema_rs.Draft7Validator(root)


def response_validator(spec: dict[str, Any], path: str, method: str, status: int) -> jsonschema_rs.Draft7Validator:
    response = spec["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return json_schema(spec, response["content"]["application/json"]["schema"])


def test_every_api_route_is_documented_and_nothing_else(settings: Settings) -> None:
    """The app's /api routes and the document's operations are the same set."""
    spec = build_spec()
    assert api_routes(settings) == spec_routes(spec)


def test_document_is_openapi_3_with_bearer_security() -> None:
    """Top-level shape, the bearer scheme, and an error response on every operation."""
    spec = build_spec()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["scorekeeper"] == {
        "type": "http", "scheme": "bearer", "description": "a scorekeeper API key"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation["operationId"] and operation["responses"], (method, path)
            assert any(status.startswith("4") for status in operation["responses"]), (method, path)
    post_events_body = spec["paths"]["/api/matches/{match_id}/events"]["post"]["requestBody"]
    event_input = spec["components"]["schemas"]["EventInput"]
    assert set(event_input["discriminator"]["mapping"]) == set(EVENT_TYPES)
    assert len(event_input["oneOf"]) == len(EVENT_TYPES) == 12
    assert "oneOf" in post_events_body["content"]["application/json"]["schema"]


def test_examples_fit_the_document() -> None:
    """Every request example validates against its operation's request schema."""
    spec = build_spec()
    for (path, method), examples in EXAMPLES.items():
        schema = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        validator = json_schema(spec, schema)
        for example in examples:
            errors = [str(e) for e in validator.iter_errors(example)]
            assert not errors, (path, example, errors)


def test_bad_requests_do_not_fit_the_document() -> None:
    """The document is strict where the schemas are: unknown fields, wrong types, two targets."""
    spec = build_spec()
    schema = spec["paths"]["/api/matches/{match_id}/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    validator = json_schema(spec, schema)
    for bad in ({"type": "goal"}, {"type": "goal", "team": "home", "colour": "red"},
                {"type": "retract", "target": 1, "target_id": "x"}, {"type": "points", "team": "home", "value": 0},
                [], {"events": []}, {"type": "nope"}):
        assert not validator.is_valid(bad), bad


async def test_examples_are_accepted_and_answers_fit(client: Any) -> None:
    """The examples, posted to a real app, are accepted; the answers match the documented shapes."""
    spec = build_spec()
    match_example = EXAMPLES[("/api/matches", "post")][0]
    response = await client.post("/api/matches", json=match_example, headers=AUTH)
    assert response.status == 201
    assert response_validator(spec, "/api/matches", "post", 201).is_valid(await response.json())
    match_id = match_example["id"]
    ingest = response_validator(spec, "/api/matches/{match_id}/events", "post", 201)
    for example in EXAMPLES[("/api/matches/{match_id}/events", "post")]:
        body = await post_events(client, match_id, example)
        assert ingest.is_valid(body), [str(e) for e in ingest.iter_errors(body)]
    for path, url in (("/api/matches", "/api/matches"), ("/api/matches/{match_id}", f"/api/matches/{match_id}"),
                      ("/api/matches/{match_id}/events", f"/api/matches/{match_id}/events")):
        answer = await (await client.get(url)).json()
        validator = response_validator(spec, path, "get", 200)
        assert validator.is_valid(answer), (url, [str(e) for e in validator.iter_errors(answer)])
    await create_match(client, "private-one", private=True)
    token = await client.post("/api/matches/private-one/tokens", json={"ttl": 600}, headers=AUTH)
    assert token.status == 201
    assert response_validator(spec, "/api/matches/{match_id}/tokens", "post", 201).is_valid(await token.json())
    error = await client.post(f"/api/matches/{match_id}/events", json={"type": "goal"}, headers=AUTH)
    assert error.status in (409, 422)
    assert response_validator(spec, "/api/matches/{match_id}/events", "post", error.status).is_valid(await error.json())


async def test_openapi_json_and_docs_page_are_served(client: Any) -> None:
    """/api/openapi.json is the document; /api/docs lists every operation, with no outside assets."""
    response = await client.get("/api/openapi.json")
    assert response.status == 200 and await response.json() == build_spec()
    page = await client.get("/api/docs")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    for method, path in spec_routes(build_spec()):
        assert f"{method} {path}" in html
    # No outside assets (examples may show https URLs as text).
    assert not re.search(r'(src|href|action)\s*=\s*["\']?(https?:)?//', html)
    assert "MatchView" in html and "GoalEvent" in html
