"""The web edge: everything that speaks HTTP, WebSocket or SSE.

    app.py        create_app(settings): wiring only
    keys.py       typed application keys shared by the handlers
    errors.py     the error middleware: exceptions -> JSON answers, in one place
    metrics.py    GET /metrics and the one-line-per-request log
    api/          the JSON HTTP API, its OpenAPI document and docs page
    pages/        server-rendered HTML pages and the static files
    live/         live feeds: WebSocket (/ws) and SSE (/sse), sessions, heartbeat
    security/     API keys, viewer tokens, origins, headers, per-client limits

Nothing below this package (service, hub, store, domain) imports from it.
"""
