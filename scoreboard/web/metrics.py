"""Prometheus metrics (`GET /metrics`) and the one-line-per-request log.

Each app owns its CollectorRegistry, so several apps in one process (tests) never clash.
The fan-out hot path pays nothing for most of this: connection, subscription and delivery
figures are read from the registry and the hub when Prometheus scrapes, not counted as
they change. The only per-delivery work is a countdown in the session pump, which hands
one batch in `PUBLISH_SAMPLE_EVERY` to `Metrics.sample_sent`.
"""
from __future__ import annotations

import hmac
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from ..domain import EVENT_TYPES
from ..frames import Frame
from ..hub import Hub
from ..service import ScoreService
from ..store.base import Committed
from .live.admission import HandshakeAdmission
from .live.connections import ConnectionRegistry
from .errors import REQUEST_ID_KEY
from .security.auth import Unauthorized
from .keys import CONNECTIONS_KEY, HANDSHAKES_KEY, HUB_KEY, SERVICE_KEY, SETTINGS_KEY

access_log = logging.getLogger("scoreboard.access")
live_log = logging.getLogger("scoreboard.live")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# One sent batch in this many (per live session) is timed for the publish-to-send histogram:
# timing every delivery would cost more than the delivery's own Python work.
PUBLISH_SAMPLE_EVERY = 16
INGEST_ROUTE = "/api/matches/{match_id}/events"
# Long-lived streams: not "in flight" for the shutdown drain (they are told to reconnect instead).
LIVE_ROUTES = frozenset({"/ws", "/sse"})
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _LiveCollector:
    """Gauges read from the hub and the connection registry at scrape time."""

    def __init__(self, hub: Hub, connections: ConnectionRegistry, service: ScoreService,
                 openings: HandshakeAdmission | None = None) -> None:
        self._hub = hub
        self._connections = connections
        self._service = service
        self._openings = openings

    def collect(self) -> Iterator[Metric]:
        open_now = GaugeMetricFamily(
            "scoreboard_live_connections", "Open live connections", labels=["transport"],
        )
        counts = {"ws": 0, "sse": 0, **self._connections.counts()}
        for transport, count in sorted(counts.items()):
            open_now.add_metric([transport], count)
        yield open_now
        yield GaugeMetricFamily(
            "scoreboard_subscriptions", "Subscriptions (connection, match or '*') held in the hub",
            value=self._hub.subscriber_count(),
        )
        yield CounterMetricFamily(
            "scoreboard_deliveries", "Frames handed to subscribers by the hub",
            value=self._hub.deliveries,
        )
        yield CounterMetricFamily(
            "scoreboard_publish_errors",
            "Events whose live frame could not be built or handed out (their fans resync from the store)",
            value=self._service.publish_errors,
        )
        if self._openings is not None:  # the reconnect-storm cap (max_handshakes)
            yield GaugeMetricFamily(
                "scoreboard_live_openings", "Live connections opening now (upgrade to first catch-up)",
                value=self._openings.in_progress,
            )
            yield CounterMetricFamily(
                "scoreboard_live_openings_refused",
                "Live connections answered 503 + Retry-After because max_handshakes were opening",
                value=self._openings.refused,
            )


class Metrics:
    """The metric objects of one app, and the hooks that feed them."""

    def __init__(self, hub: Hub, connections: ConnectionRegistry, service: ScoreService, backend: str,
                 openings: HandshakeAdmission | None = None) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_LiveCollector(hub, connections, service, openings))
        self.backend = backend
        self.events_ingested = Counter(
            "scoreboard_events_ingested", "Events committed to the log by type "
            "(with a shared store: as this instance learns of them)",
            ["type"], registry=self.registry,
        )
        # event type -> its counter, made once (labels() per event showed in the ingest profile)
        self._ingested = {event_type: self.events_ingested.labels(event_type) for event_type in EVENT_TYPES}
        self.slow_consumer_drops = Counter(
            "scoreboard_slow_consumer_drops", "Live connections cut off because their buffer overflowed",
            ["transport"], registry=self.registry,
        )
        for transport in ("ws", "sse"):
            self.slow_consumer_drops.labels(transport)
        self.ingest_seconds = Histogram(
            "scoreboard_ingest_seconds", "POST /api/matches/{id}/events: request in to answer out",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.publish_to_send_seconds = Histogram(
            "scoreboard_publish_to_send_seconds",
            f"Hub publish to the end of the send to a fan (one batch in {PUBLISH_SAMPLE_EVERY} per fan)",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.store_ready = Gauge(
            "scoreboard_store_ready", "1 when the event store takes writes (checked at scrape)",
            ["backend"], registry=self.registry,
        )
        self.http_requests = Counter(
            "scoreboard_http_requests", "HTTP requests answered", ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_request_seconds = Histogram(
            "scoreboard_http_request_seconds", "HTTP request duration (a live connection: its lifetime)",
            ["route"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        # Plain HTTP requests being handled now (not live streams): what SIGTERM waits for.
        self.in_flight = 0
        # Set at SIGTERM: every answer from then on says `Connection: close` (server.py drains).
        self.draining = False
        Gauge(
            "scoreboard_http_requests_in_flight", "HTTP requests being handled (live streams excluded)",
            registry=self.registry,
        ).set_function(lambda: self.in_flight)
        # match id -> (seq, monotonic time) of its last published event, for sampled latency.
        self._published: dict[str, tuple[int, float]] = {}
        # (method, route, status) -> its request counter and duration histogram: labels() takes
        # a lock and builds a key each call, a cost every request paid twice. As bounded as the
        # label values themselves.
        self._request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, duration: float) -> None:
        series = self._request_series.get((method, route, status))
        if series is None:
            series = (self.http_requests.labels(method, route, str(status)),
                      self.http_request_seconds.labels(route))
            self._request_series[(method, route, status)] = series
        series[0].inc()
        series[1].observe(duration)

    def on_commit(self, committed: Committed) -> None:
        """Commit listener: runs right after the service published the batch to the hub."""
        new_events = committed.acceptance.new_events
        for event in new_events:
            counter = self._ingested.get(event.type)
            (counter if counter is not None else self.events_ingested.labels(event.type)).inc()
        if new_events:
            self._published[committed.match.id] = (new_events[-1].seq, time.monotonic())

    def forget_match(self, match_id: str) -> None:
        """The service let go of an idle match (ScoreService.sweep)."""
        self._published.pop(match_id, None)

    def sample_sent(self, frame: Frame) -> None:
        """A session sent `frame` (the last of a batch): time it if it is the latest publish."""
        published = self._published.get(frame.match_id)
        if published is not None and published[0] == frame.seq:
            self.publish_to_send_seconds.observe(time.monotonic() - published[1])

    def slow_consumer(self, transport: str) -> None:
        self.slow_consumer_drops.labels(transport).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


METRICS_KEY = web.AppKey("metrics", Metrics)


def setup_metrics(app: web.Application) -> Metrics:
    """Create the app's metrics, hook them to its store, and add `GET /metrics`."""
    settings = app[SETTINGS_KEY]
    metrics = Metrics(app[HUB_KEY], app[CONNECTIONS_KEY], app[SERVICE_KEY],
                      "redis" if settings.redis_url else "sqlite", app.get(HANDSHAKES_KEY))
    app[METRICS_KEY] = metrics
    app[SERVICE_KEY].store.add_commit_listener(metrics.on_commit)
    app[SERVICE_KEY].add_forget_listener(metrics.forget_match)
    app.router.add_get("/metrics", metrics_endpoint, name="metrics")
    return metrics


async def metrics_endpoint(request: web.Request) -> web.Response:
    token = request.app[SETTINGS_KEY].metrics_token
    if token and not hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()):
        raise Unauthorized("GET /metrics needs 'Authorization: Bearer <metrics_token>'")
    metrics = request.app[METRICS_KEY]
    ready = await request.app[SERVICE_KEY].store.ready()
    metrics.store_ready.labels(metrics.backend).set(1 if ready else 0)
    return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


def route_of(request: web.Request) -> str:
    """The route template (`/api/matches/{match_id}`): bounded label values, no match ids."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One log line and one metric sample per request; outermost, so it sees the final status.

    Logs the path without the query string and no headers: tokens and keys travel there.
    """
    started = time.perf_counter()
    status = 500
    route = route_of(request)
    metrics = request.app[METRICS_KEY]
    counted = route not in LIVE_ROUTES
    if counted:
        metrics.in_flight += 1
    try:
        response = await handler(request)
        status = response.status
        if metrics.draining and not response.prepared:
            response.force_close()  # the client must not send another request on this connection
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except BaseException:
        status = 499  # the client went away (cancelled) or an error escaped the error middleware
        raise
    finally:
        duration = time.perf_counter() - started
        if counted:
            metrics.in_flight -= 1
        metrics.observe_request(request.method, route, status, duration)
        if route == INGEST_ROUTE and request.method == "POST":
            metrics.ingest_seconds.observe(duration)
        request_id = request.get(REQUEST_ID_KEY, "-")
        if status != 101:  # a WebSocket is logged once, when it closes (connection_closed)
            access_log.info(
                "%s %s %s %.1fms request_id=%s", request.method, request.path, status,
                duration * 1000, request_id,
                extra={"method": request.method, "path": request.path, "status": status,
                       "duration_ms": round(duration * 1000, 2), "request_id": request_id,
                       "remote": request.remote},
            )


def connection_opened(request: web.Request, transport: str) -> dict[str, Any]:
    """A live connection opened: its log fields and opening time, for `connection_closed`.

    Nothing is logged now: a connection gets one line, when it closes (a deploy's reconnect
    storm is thousands of connections a second, and each line costs a write). The fields,
    not the request, are what a WebSocket fan keeps: it outlives its request.
    """
    return opened_fields(transport, request.path, request.remote, request.get(REQUEST_ID_KEY, "-"))


def opened_fields(transport: str, path: str, remote: str | None, request_id: str) -> dict[str, Any]:
    """`connection_opened` for a connection that never became an aiohttp request (the /ws
    front door, web/live/front.py)."""
    return {"transport": transport, "path": path, "remote": remote, "request_id": request_id,
            "opened_at": time.monotonic()}


def connection_closed(
    opened: web.Request | dict[str, Any], transport: str, close_code: int | None = None, *,
    matches: int | None = None, sent_bytes: int | None = None,
) -> None:
    """The one log line of a live connection: how long it lasted, how many matches it followed
    at the end, the bytes the client acknowledged and the close code."""
    fields: dict[str, Any] = dict(opened) if isinstance(opened, dict) else _live_fields(opened, transport)
    opened_at = fields.pop("opened_at", None)
    if opened_at is not None:
        fields["duration_ms"] = round((time.monotonic() - opened_at) * 1000, 1)
    if close_code is not None:
        fields["close_code"] = close_code
    if matches is not None:
        fields["matches"] = matches
    if sent_bytes is not None:
        fields["sent_bytes"] = sent_bytes
    live_log.info(
        "%s closed %s close_code=%s duration_ms=%s matches=%s sent_bytes=%s request_id=%s", transport,
        fields["path"], _or_dash(close_code), _or_dash(fields.get("duration_ms")), _or_dash(matches),
        _or_dash(sent_bytes), fields["request_id"], extra=fields,
    )


def _or_dash(value: object) -> object:
    return "-" if value is None else value


# struct tcp_info (linux/tcp.h): tcpi_bytes_acked, a u64 at this offset (Linux 4.1+).
_TCPI_BYTES_ACKED = 120


def acknowledged_bytes(transport: Any) -> int | None:
    """Bytes the client has acknowledged on this TCP connection (the kernel counts them, so
    the direct lane's writes cost nothing extra), or None where the kernel does not say.
    Valid until the transport has closed its socket (so, in connection_lost too)."""
    raw_socket = transport.get_extra_info("socket") if transport is not None else None
    tcp_info = getattr(socket, "TCP_INFO", None)
    if raw_socket is None or tcp_info is None:
        return None
    try:
        info = raw_socket.getsockopt(socket.IPPROTO_TCP, tcp_info, _TCPI_BYTES_ACKED + 8)
    except (OSError, ValueError):
        return None
    if len(info) < _TCPI_BYTES_ACKED + 8:
        return None
    return int(struct.unpack_from("Q", info, _TCPI_BYTES_ACKED)[0])


def _live_fields(request: web.Request, transport: str) -> dict[str, Any]:
    return {"transport": transport, "path": request.path, "remote": request.remote,
            "request_id": request.get(REQUEST_ID_KEY, "-")}
