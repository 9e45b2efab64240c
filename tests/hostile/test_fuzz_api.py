"""A bounded schemathesis run of the HTTP API, from its own OpenAPI document, against a real process."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from scoreboard.web.api.openapi import build_spec
from support import AUTH, KEY, ServerProcess, free_port

pytestmark = pytest.mark.slow  # schemathesis generates hundreds of requests per operation

# Bounded: 40 examples (valid and invalid mixed) per operation keeps the whole run well under a minute.
MAX_EXAMPLES = 40
ERROR_KEYS = {"code", "message", "fields", "request_id"}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(port=free_port(), db=tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    # No ingest rate limit: the fuzzer should reach validation, not the limiter, on every call.
    server.start("--ingest-rate", "0", env={"SCOREBOARD_API_KEYS": KEY})
    for match_id, private in (("fuzz-a", False), ("fuzz-b", True)):
        answer = requests.post(f"{server.url}/api/matches", headers=AUTH, timeout=5,
                               json={"id": match_id, "home": "A", "away": "B", "private": private})
        assert answer.status_code == 201, answer.text
    requests.post(f"{server.url}/api/matches/fuzz-a/events", headers=AUTH, timeout=5,
                  json=[{"type": "period_start"}, {"type": "goal", "team": "home"}])
    yield server
    server.stop()
    assert server.process is not None and server.process.returncode == 0


@pytest.fixture(scope="module")
def api_schema(live_server: ServerProcess) -> Any:
    return schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")


def error_shape(response: Any) -> None:
    """Every 4xx is `{"error": {"code", "message", "fields"?, "request_id"?}}` with string code and message."""
    if response.status_code < 400:
        return
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message"} <= set(error) <= ERROR_KEYS, error
    assert isinstance(error["code"], str) and isinstance(error["message"], str), error
    request_id = (response.headers.get("x-request-id") or [None])[0]
    assert request_id and error.get("request_id", request_id) == request_id, (error, request_id)


OPERATIONS = [(path, method) for path, item in build_spec()["paths"].items() for method in item]


@pytest.mark.parametrize("path, method", OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
@pytest.mark.timeout(120)
def test_api_never_fails_and_errors_keep_their_shape(
    api_schema: Any, live_server: ServerProcess, path: str, method: str,
) -> None:
    """No 5xx; answers and statuses as documented; every error in the one error shape."""
    operation = api_schema[path][method]
    headers = AUTH if method == "post" else None

    # Valid requests (they must be answered 2xx or a documented 4xx) and invalid ones (4xx).
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)
    if "{match_id}" in path:  # random ids mostly miss: aim half the cases at a real match
        cases |= operation.as_strategy(GenerationMode.POSITIVE, path_parameters={"match_id": "fuzz-a"})
        cases |= operation.as_strategy(GenerationMode.NEGATIVE, path_parameters={"match_id": "fuzz-a"})

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    def call(case: Any) -> None:
        response = case.call(base_url=live_server.url, headers=headers)
        case.validate_response(response, checks=[
            not_a_server_error, status_code_conformance, content_type_conformance,
            response_schema_conformance,
        ])
        error_shape(response)

    call()
