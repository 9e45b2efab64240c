"""The one place exceptions become HTTP answers: `{"error": {"code", "message", "fields"?}}`.

The error middleware is also where every answer gets its request id and security headers and
where CORS preflights are answered: one middleware layer instead of three, because each layer
is a coroutine per request and, for every open WebSocket or SSE stream, a suspended frame.
"""
from __future__ import annotations

import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from marshmallow import ValidationError

from ..errors import ScoreboardError
from .security.headers import add_security_headers, came_over_https
from .keys import SETTINGS_KEY
from .security.origins import preflight_response

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 408: "timeout", 409: "conflict", 413: "too_large",
    415: "unsupported_media_type", 422: "validation_failed", 429: "rate_limited",
    503: "unavailable",
}
# Typed request storage where aiohttp has it (3.14+); a plain key before that.
REQUEST_ID_KEY: Any = web.RequestKey("request_id", str) if hasattr(web, "RequestKey") else "request_id"


class BadRequest(ScoreboardError):
    code = "bad_json"
    status = 400


class UnsupportedMediaType(ScoreboardError):
    code = "unsupported_media_type"
    status = 415


class TooLarge(ScoreboardError):
    code = "too_large"
    status = 413


def error_response(
    status: int, code: str, message: str, fields: Any = None,
    request_id: str | None = None, headers: dict[str, str] | None = None,
) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    if request_id:
        error["request_id"] = request_id
    return web.json_response({"error": error}, status=status, headers=headers)


def wants_html(request: web.Request) -> bool:
    """Pages get an HTML error; the API, live endpoints and scripts get JSON."""
    path = request.path
    if path.startswith(("/api", "/ws", "/sse", "/healthz", "/readyz", "/metrics", "/static")):
        return False
    return "text/html" in request.headers.get("Accept", "")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-ID") or f"{random.getrandbits(64):016x}"
    request[REQUEST_ID_KEY] = request_id
    https = came_over_https(request, request.app[SETTINGS_KEY].trust_forwarded)
    try:
        # Not `or`: a response is a mapping, and an empty one is false.
        preflight = preflight_response(request)
        response = preflight if preflight is not None else await handler(request)
    except ScoreboardError as exc:
        retry_after = getattr(exc, "retry_after", None) or (1 if exc.status == 503 else None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        response = error_response(exc.status, exc.code, exc.message, exc.fields, request_id, headers)
    except ValidationError as exc:
        response = error_response(
            422, "validation_failed", "some fields are not valid", exc.messages, request_id,
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            add_security_headers(exc.headers, exc.content_type, https)
            raise
        if wants_html(request) and exc.status != 413:
            response = _error_page(request, exc.status, exc.reason)
            response.headers["X-Request-ID"] = request_id
            add_security_headers(response.headers, response.content_type, https)
            return response
        message = exc.reason if exc.status != 413 else "the request body is too large"
        response = error_response(
            exc.status, HTTP_CODES.get(exc.status, "error"), message, None, request_id,
            headers={k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")},
        )
    except Exception:
        log.exception("unhandled error on %s %s (request %s)", request.method, request.path, request_id)
        response = error_response(500, "internal", "an internal error occurred", None, request_id)
    if not response.prepared:  # a WebSocket or SSE stream has sent its headers already
        response.headers["X-Request-ID"] = request_id
        add_security_headers(response.headers, response.content_type, https)
    return response


PAGE_MESSAGES = {
    404: ("Not found", "There is no page here. The match may have been removed or the address mistyped."),
    405: ("Not allowed", "This page cannot be used that way."),
}


def _error_page(request: web.Request, status: int, reason: str) -> web.StreamResponse:
    """A person in a browser gets a page in the site's look, not aiohttp's plain text."""
    title, message = PAGE_MESSAGES.get(status, (reason, "Something about this request was not right."))
    try:
        return aiohttp_jinja2.render_template(
            "error.html", request, {"title": title, "message": message, "status": status}, status=status,
        )
    except RuntimeError:  # templates not set up (an app without pages)
        return web.Response(status=status, text=f"{title}: {message}")


async def read_json(request: web.Request) -> Any:
    """The request body as JSON: 415 unless JSON, 413 if too large, 400 if it does not parse."""
    content_type = request.content_type
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("send the body as JSON with 'Content-Type: application/json'")
    max_size = request.app[SETTINGS_KEY].max_body_bytes
    if request.content_length is not None and request.content_length > max_size:
        raise TooLarge(f"the request body is larger than {max_size} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge(f"the request body is larger than {max_size} bytes") from None
    try:
        return json.loads(raw.decode(request.charset or "utf-8"))
    except (UnicodeDecodeError, LookupError):
        raise BadRequest("the request body is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
