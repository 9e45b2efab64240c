"""The one place exceptions become HTTP answers: `{"error": {"code", "message", "fields"?}}`.

The error middleware is also where every answer gets its request id and security headers and
where CORS preflights are answered: one middleware layer instead of three, because each layer
is a coroutine per request and, for every open WebSocket or SSE stream, a suspended frame.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_to_bytes

import aiohttp_jinja2
from aiohttp import web
from marshmallow import ValidationError

from ..errors import InvalidInput, ScoreboardError
from ..text import NOT_TEXT, bad_text_fields, may_hold_bad_text
from .keys import CLIENT_ERRORS_KEY, SETTINGS_KEY
from .security.headers import add_security_headers, came_over_https
from .security.limits import client_address
from .security.origins import preflight_response

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 408: "timeout", 409: "conflict", 413: "too_large",
    415: "unsupported_media_type", 422: "validation_failed", 429: "rate_limited",
    503: "unavailable",
}
# A request id from the router is echoed in a header and logged: only this shape is taken.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")
# Client errors too common and too harmless to log: a page or route that is not there.
QUIET_STATUSES = frozenset({404, 405})
# Typed request storage where aiohttp has it (3.14+); a plain key before that.
REQUEST_ID_KEY: Any = web.RequestKey("request_id", str) if hasattr(web, "RequestKey") else "request_id"


class BadRequest(ScoreboardError):
    code = "bad_json"
    status = 400


class UnsupportedMediaType(ScoreboardError):
    code = "unsupported_media_type"
    status = 415


class RequestTimeout(ScoreboardError):
    code = "timeout"
    status = 408


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


def request_id_of(request: web.Request) -> str:
    """The router's X-Request-ID when it looks like one (it is echoed and logged), else ours."""
    return request_id_from(request.headers.get("X-Request-ID"))


def request_id_from(given: str | None) -> str:
    """`given` (an X-Request-ID value) when it looks like a request id, else a new one."""
    if given and REQUEST_ID.fullmatch(given):
        return given
    return f"{random.getrandbits(64):016x}"


def check_input(request: web.Request) -> None:
    """Raise InvalidInput naming the first header or query parameter that is not UTF-8 text.

    aiohttp's parser already refuses NUL and control bytes in headers, and decodes other
    bytes that are not UTF-8 to lone surrogates; yarl turns bad %-escapes in the query into
    U+FFFD. Both would be taken silently, so the raw bytes are checked here (ASCII, the usual
    case, costs one `isascii` per header).
    """
    for name, raw_value in request.raw_headers:
        if not raw_value.isascii() and not _is_utf8(raw_value):
            raise InvalidInput(
                f"the {name.decode('latin-1')} header is not UTF-8 text",
                {name.decode("latin-1"): [NOT_TEXT]},
            )
    raw_query = request.rel_url.raw_query_string
    if "%" in raw_query:
        for pair in raw_query.split("&"):
            key, _, value = pair.partition("=")
            for part in (key, value):
                decoded = unquote_to_bytes(part.replace("+", " "))
                if b"\x00" in decoded or not _is_utf8(decoded):
                    field = unquote_to_bytes(key).decode("utf-8", "backslashreplace")
                    raise InvalidInput(f"the query parameter {field!r} is not UTF-8 text", {field: [NOT_TEXT]})


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def client_of(request: web.Request) -> str:
    """The client, for the client-error log (the router's view of it when trusted)."""
    return client_address(request, request.app[SETTINGS_KEY].trust_forwarded)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request_id_of(request)
    request[REQUEST_ID_KEY] = request_id
    https = came_over_https(request, request.app[SETTINGS_KEY].trust_forwarded)
    try:
        check_input(request)
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
        # A traceback once per client per minute: a client that can trigger a bug must not
        # also be able to flood the log with it.
        request.app[CLIENT_ERRORS_KEY].note(
            client_of(request), "unhandled error on %s %s (request %s)", request.method, request.path,
            request_id, level=logging.ERROR, exc_info=True,
        )
        response = error_response(500, "internal", "an internal error occurred", None, request_id)
    if 400 <= response.status < 500 and response.status not in QUIET_STATUSES:
        request.app[CLIENT_ERRORS_KEY].note(
            client_of(request), "%s %s answered %s (request %s)", request.method, request.path,
            response.status, request_id,
        )
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


def load_json(text: str) -> Any:
    """Parse JSON a client sent; raises BadRequest (not JSON, nested too deep, a number too long
    to read, NaN or Infinity) or InvalidInput naming each string that is not UTF-8 text."""
    try:
        document = _DECODER.decode(text)
    except RecursionError:
        raise BadRequest("the JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # a number past Python's 4,300-digit limit, or NaN/Infinity
        raise BadRequest(f"not valid JSON: {exc}") from None
    if may_hold_bad_text(text):
        bad = bad_text_fields(document)
        if bad:
            raise InvalidInput("some fields are not valid text", bad)
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# One decoder, made once: json.loads with any keyword builds a new decoder on every call
# (a couple of µs on the ingest path).
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON: 415 unless JSON, 413 if too large, 400 if it does not parse,
    422 naming each string that is not UTF-8 text."""
    content_type = request.content_type
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("send the body as JSON with 'Content-Type: application/json'")
    max_size = request.app[SETTINGS_KEY].max_body_bytes
    if request.content_length is not None and request.content_length > max_size:
        raise TooLarge(f"the request body is larger than {max_size} bytes")
    try:
        if request.content.is_eof():  # the usual case: the body came with the headers
            raw = await request.read()
        else:
            # A body trickling in holds a connection and a handler: it gets the header timeout.
            timeout = request.app[SETTINGS_KEY].header_timeout
            try:
                async with asyncio.timeout(timeout):
                    raw = await request.read()
            except TimeoutError:
                raise RequestTimeout(f"the request body took longer than {timeout:g} s to arrive") from None
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge(f"the request body is larger than {max_size} bytes") from None
    try:
        text = raw.decode(request.charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise BadRequest("the request body is not valid UTF-8") from None
    try:
        return load_json(text)
    except BadRequest as exc:
        raise BadRequest(f"the request body is {exc.message}") from None
