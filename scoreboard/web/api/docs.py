"""`GET /api/openapi.json` (the OpenAPI document), `GET /api/docs` (it, readable, no JS) and
`GET /api/docs/protocol` (the live feeds, which OpenAPI cannot describe).

The protocol page is templates/docs/protocol.md, read at start-up through the page templates'
loader, so it ships wherever the templates do and a deployed service (no repository checkout)
serves every document its API pages point to. Both documents are built on their first request,
not at start-up: the OpenAPI builder and the Markdown renderer (apispec, marshmallow schemas of
every API, markdown-it) took a fifth of the time a new process needs before it listens, and
after a deploy every fan waits for that.
"""
from __future__ import annotations

import functools
import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web

PROTOCOL_SOURCE = "docs/protocol.md"
METHOD_ORDER = ("get", "post", "put", "patch", "delete")


class ApiDocuments:
    """The OpenAPI document and the protocol page, each built once, when first asked for."""

    def __init__(self, protocol_markdown: str) -> None:
        self._protocol_markdown = protocol_markdown

    @functools.cached_property
    def spec(self) -> dict[str, Any]:
        from .openapi import build_spec  # imports every schema of the API: only when asked

        return build_spec()

    @functools.cached_property
    def protocol_html(self) -> str:
        return render_markdown(self._protocol_markdown)


DOCS_KEY = web.AppKey("api_docs", ApiDocuments)


def setup_api_docs(app: web.Application) -> None:
    """Add the documents' routes; call after the Jinja setup (the protocol source is read now,
    so a package missing it fails at start, not on a reader's request)."""
    app[DOCS_KEY] = ApiDocuments(_template_source(app, PROTOCOL_SOURCE))
    app.router.add_get("/api/openapi.json", openapi_json, name="openapi")
    app.router.add_get("/api/docs", api_docs, name="api_docs")
    app.router.add_get("/api/docs/protocol", protocol_docs, name="protocol_docs")


def _template_source(app: web.Application, name: str) -> str:
    env = aiohttp_jinja2.get_env(app)
    assert env.loader is not None, "setup_api_docs runs after the Jinja setup"
    source, _, _ = env.loader.get_source(env, name)
    return source


def render_markdown(text: str) -> str:
    """CommonMark plus tables; raw HTML in the source is shown as text, never passed through."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(request.app[DOCS_KEY].spec)


async def api_docs(request: web.Request) -> web.Response:
    spec = request.app[DOCS_KEY].spec
    return aiohttp_jinja2.render_template("api_docs.html", request, {
        "info": spec["info"],
        "operations": operations(spec),
        "schemas": schema_tables(spec),
        "security": spec["components"]["securitySchemes"],
    })


async def protocol_docs(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("api_protocol.html", request, {
        "body": request.app[DOCS_KEY].protocol_html,
    })


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation, in path order, with what the page shows of it."""
    found = []
    for path, item in spec["paths"].items():
        for method in sorted(item, key=METHOD_ORDER.index):
            op = item[method]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            found.append({
                "method": method.upper(), "path": path, "anchor": op["operationId"],
                "summary": op.get("summary", ""), "description": op.get("description", ""),
                "security": [name for requirement in op.get("security", []) for name in requirement]
                or ["none"],
                "optional_auth": {} in op.get("security", []),
                "parameters": [
                    {"name": p["name"], "in": p["in"], "required": p.get("required", False),
                     "type": type_label(p["schema"]), "description": p.get("description", "")}
                    for p in op.get("parameters", [])
                ],
                "body": type_label(body["schema"]) if body else None,
                "examples": [json.dumps(e["value"], indent=2) for e in body.get("examples", {}).values()],
                "responses": [
                    {"status": status, "description": response.get("description", "error"),
                     "type": type_label(response["content"]["application/json"]["schema"])
                     if "content" in response else "Error"}
                    for status, response in op["responses"].items()
                ],
            })
    return found


def schema_tables(spec: dict[str, Any]) -> list[dict[str, Any]]:
    tables = []
    for name, schema in spec["components"]["schemas"].items():
        required = set(schema.get("required", ()))
        tables.append({
            "name": name,
            "one_of": [type_label(s) for s in schema.get("oneOf", []) if "$ref" in s],
            "fields": [
                {"name": field, "type": type_label(prop), "required": field in required,
                 "rules": rules(prop), "description": prop.get("description", "")}
                for field, prop in schema.get("properties", {}).items()
            ],
        })
    return tables


def type_label(schema: dict[str, Any]) -> str:
    """`MatchView`, `list of GoalEvent`, `string (date-time)`, `one of: A | B`."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "oneOf" in schema:
        return "one of: " + " | ".join(type_label(s) for s in schema["oneOf"])
    if schema.get("type") == "array":
        return "list of " + type_label(schema.get("items", {}))
    label = schema.get("type", "any")
    if "format" in schema:
        label += f" ({schema['format']})"
    if schema.get("nullable"):
        label += " or null"
    return label


def rules(schema: dict[str, Any]) -> str:
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(str(v) for v in schema["enum"]))
    for key, word in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"),
                      ("maxLength", "length ≤"), ("minItems", "items ≥"), ("maxItems", "items ≤")):
        if key in schema:
            parts.append(f"{word} {schema[key]}")
    if "pattern" in schema:
        parts.append(f"matches {schema['pattern']}")
    if "default" in schema:
        parts.append(f"default {json.dumps(schema['default'])}")
    return "; ".join(parts)
