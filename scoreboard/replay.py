"""Replay real matches into a running service, as a scorekeeper would.

The input is a file shaped like ``shared/data/real_matches.json`` (schema in that folder's
README). Each match is created (or found, on a re-run), its events are posted one by one in
match order, and the final score the service then reports is compared with the recorded one.

The mapping from the data file to our events is pure (no I/O) and lives at the top of this
module so tests can check it without a server; the HTTP part sits below it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import aiohttp

Score = dict[str, int]
SourceEvent = Mapping[str, Any]

# The service's id rule (docs/architecture.md): ^[a-z0-9][a-z0-9-]{0,63}$.
MAX_SLUG_LEN = 64

# Transient failures only: a 503 means "nothing was stored, try again", a 429 "nothing was
# stored, slow down" (the per-key ingest rate limit), and a lost connection may or may not
# have stored the event, which the client ids make safe to resend. Any other 4xx is our
# mistake (or a data problem) and resending it cannot help, so it is reported instead.
RETRY_STATUSES = frozenset({429, 503})
MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 5.0


class ReplayDataError(ValueError):
    """The input file does not follow the real-match schema."""


# --------------------------------------------------------------------------- pure mapping


@dataclass(frozen=True)
class MatchPlan:
    """Everything needed to replay one match, computed without touching the network."""

    match_id: str
    home: str
    away: str
    expected: Score
    events: tuple[dict[str, Any], ...]
    # Match-clock second of each event, in the same order as `events`; used for --speed.
    clock: tuple[int, ...]


@dataclass
class ReplayResult:
    """The outcome of one match's replay: what the service reports next to what was recorded."""

    match_id: str
    expected: Score
    reported: Score | None = None
    created: bool = False
    posted: int = 0
    repeated: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the replay went through and the service's score equals the recorded one."""
        return self.error is None and self.reported == self.expected


def event_order_key(event: SourceEvent) -> tuple[int, int, int]:
    """Sort key for source events.

    The match clock keeps running through stoppage time (a first half can end at 51:23 while
    the second half kicks off at 45:00), so the clock alone is not monotonic: period first.
    """
    return (int(event["period"]), int(event["minute"]), int(event["second"]))


def order_events(events: Sequence[SourceEvent]) -> list[SourceEvent]:
    """Return the events in match order; the sort is stable, so ties keep the file's order."""
    return sorted(events, key=event_order_key)


def slugify(text: str) -> str:
    """Lower-case ASCII slug: accents folded, every other run of characters becomes one dash."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def match_slug(date: str, home: str, away: str, prefix: str = "") -> str:
    """A stable match id from date and teams, so a re-run finds the match it created before.

    The prefix lets several replays of the same file live side by side (tests, demos).
    """
    slug = "-".join(part for part in (slugify(prefix), slugify(date), slugify(home), slugify(away)) if part)
    slug = slug[:MAX_SLUG_LEN].rstrip("-")
    if not slug:
        raise ReplayDataError(f"cannot make a match id from {date!r}, {home!r}, {away!r}")
    return slug


def display_minute(event: SourceEvent) -> int:
    """The minute a scoreboard shows: the clock at 22:24 is the 23rd minute, shown as 23'."""
    return int(event["minute"]) + 1


def to_service_event(event: SourceEvent) -> dict[str, Any]:
    """Map one source event to the service's event body (without its client id)."""
    kind = event.get("type")
    if kind == "kickoff":
        return {"type": "period_start", "period": int(event["period"])}
    if kind == "half_time":
        return {"type": "period_end"}
    if kind == "full_time":
        return {"type": "period_end", "final": True}
    if kind == "goal":
        return {
            "type": "goal",
            "team": event["team"],
            "player": event.get("player"),
            "minute": display_minute(event),
            "own_goal": bool(event.get("own_goal", False)),
            "penalty": bool(event.get("penalty", False)),
        }
    if kind in ("yellow_card", "red_card"):
        if kind == "yellow_card":
            color = "yellow"
        else:
            color = "second_yellow" if event.get("second_yellow") else "red"
        return {
            "type": "card",
            "team": event["team"],
            "player": event.get("player"),
            "color": color,
            "minute": display_minute(event),
        }
    raise ReplayDataError(f"unknown event type {kind!r}")


def event_client_id(match_id: str, index: int) -> str:
    """The idempotency id of the index-th event (in match order): a re-run resends the same ids."""
    return f"replay-{match_id}-{index}"


def plan_match(record: Mapping[str, Any], prefix: str = "") -> MatchPlan:
    """Turn one match record of the data file into the events to post, in order."""
    if not isinstance(record, Mapping):
        raise ReplayDataError(f"expected a match object, got {type(record).__name__}")
    try:
        match_id = match_slug(str(record["date"]), str(record["home"]), str(record["away"]), prefix)
        ordered = order_events(record["events"])
        events = []
        for index, source in enumerate(ordered):
            body = {"id": event_client_id(match_id, index), **to_service_event(source)}
            # Optional fields the data lacks are left out rather than sent as null.
            events.append({key: value for key, value in body.items() if value is not None})
        final = record["final"]
        expected = {"home": int(final["home"]), "away": int(final["away"])}
        clock = tuple(int(e["minute"]) * 60 + int(e["second"]) for e in ordered)
        return MatchPlan(match_id, str(record["home"]), str(record["away"]), expected, tuple(events), clock)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ReplayDataError):
            raise
        raise ReplayDataError(f"match {record.get('match_id', '?')}: {exc!r}") from exc


def pacing_delays(clock: Sequence[int], speed: float | None) -> list[float]:
    """Seconds to wait before each event: match-clock gaps divided by `speed`, or none at all.

    The gap across a period change is negative on the match clock (51:23 then 45:00); the
    half-time break is not in the data, so such a gap is taken as zero.
    """
    if speed is None:
        return [0.0] * len(clock)
    if speed <= 0:
        raise ValueError("speed must be positive")
    delays = [0.0]
    for before, after in zip(clock, clock[1:]):
        delays.append(max(0, after - before) / speed)
    return delays[: len(clock)]


def load_plans(text: str, prefix: str = "") -> list[MatchPlan]:
    """Parse a data file's text into one plan per match; duplicate match ids are an error."""
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayDataError(f"not JSON: {exc}") from exc
    if not isinstance(records, list):
        raise ReplayDataError("expected a JSON list of matches")
    plans = [plan_match(record, prefix) for record in records]
    ids = [plan.match_id for plan in plans]
    if len(set(ids)) != len(ids):
        raise ReplayDataError("two matches map to the same id; use distinct dates or teams")
    return plans


def format_score(score: Score | None) -> str:
    """`3-3`, or `?` when the service gave no score."""
    return "?" if score is None else f"{score['home']}-{score['away']}"


# --------------------------------------------------------------------------- HTTP


class ServiceError(Exception):
    """The service refused a request with a status we do not retry (4xx, or 5xx other than 503)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


def _retry_after(headers: Mapping[str, str], attempt: int) -> float:
    """Honour a numeric Retry-After; otherwise capped exponential backoff."""
    value = headers.get("Retry-After")
    if value is not None:
        try:
            return min(max(float(value), 0.0), BACKOFF_CAP_S * 6)
        except ValueError:
            pass  # an HTTP date: not worth parsing for a replay tool
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0**attempt)


@dataclass(frozen=True)
class _Client:
    """A session plus the headers every request of this replay carries."""

    session: aiohttp.ClientSession
    headers: Mapping[str, str]


async def _request(client: _Client, method: str, url: str, body: Any | None = None) -> tuple[int, Any]:
    """Send one request, retrying transient failures; return (status, JSON body) for any 2xx/4xx.

    4xx answers are returned, not raised, because some (409 match_exists) are expected.
    """
    last_problem = ""
    for attempt in range(MAX_ATTEMPTS):
        try:
            async with client.session.request(method, url, json=body, headers=client.headers) as response:
                if response.status in RETRY_STATUSES:
                    last_problem = f"{response.status}"
                    await asyncio.sleep(_retry_after(response.headers, attempt))
                    continue
                try:
                    payload = await response.json(content_type=None)
                except (json.JSONDecodeError, aiohttp.ContentTypeError):
                    payload = None
                if response.status >= 500:
                    raise ServiceError(response.status, _error_code(payload), _error_message(payload))
                return response.status, payload
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
            last_problem = repr(exc)
            await asyncio.sleep(min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0**attempt))
    raise ServiceError(0, "unavailable", f"{method} {url} failed {MAX_ATTEMPTS} times: {last_problem}")


def _error_code(payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return str(payload["error"].get("code", "error"))
    return "error"


def _error_message(payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        err = payload["error"]
        fields = f" {err['fields']}" if err.get("fields") else ""
        return f"{err.get('message', '')}{fields}"
    return str(payload)[:200]


def _raise_for(status: int, payload: Any) -> None:
    if status >= 400:
        raise ServiceError(status, _error_code(payload), _error_message(payload))


async def _ensure_match(client: _Client, base: str, plan: MatchPlan) -> bool:
    """Create the match, or accept the one a previous run created; True when newly created."""
    status, payload = await _request(
        client, "POST", f"{base}/api/matches", {"id": plan.match_id, "home": plan.home, "away": plan.away}
    )
    if status == 409 and _error_code(payload) == "match_exists":
        status, payload = await _request(client, "GET", f"{base}/api/matches/{plan.match_id}")
        _raise_for(status, payload)
        if (payload.get("home"), payload.get("away")) != (plan.home, plan.away):
            raise ServiceError(409, "match_exists", f"{plan.match_id} exists with other teams")
        return False
    _raise_for(status, payload)
    return True


async def replay_match(client: _Client, base: str, plan: MatchPlan, speed: float | None) -> ReplayResult:
    """Replay one match; errors are recorded in the result, never raised, so others go on."""
    result = ReplayResult(plan.match_id, plan.expected)
    try:
        result.created = await _ensure_match(client, base, plan)
        url = f"{base}/api/matches/{plan.match_id}/events"
        for event, delay in zip(plan.events, pacing_delays(plan.clock, speed)):
            if delay:
                await asyncio.sleep(delay)
            status, payload = await _request(client, "POST", url, event)
            _raise_for(status, payload)
            # 200 is the service saying "already stored": a re-run must add nothing.
            if status == 200:
                result.repeated += 1
            else:
                result.posted += 1
        status, payload = await _request(client, "GET", f"{base}/api/matches/{plan.match_id}")
        _raise_for(status, payload)
        score = payload["score"]
        result.reported = {"home": int(score["home"]), "away": int(score["away"])}
    except ServiceError as exc:
        result.error = str(exc)
    return result


async def replay_plans(
    plans: Sequence[MatchPlan],
    url: str,
    key: str,
    speed: float | None,
    session: aiohttp.ClientSession | None = None,
) -> list[ReplayResult]:
    """Replay matches concurrently (as on a match day); results in the order of `plans`.

    A given `session` is used and left open (the Bearer header is added per request);
    otherwise one is created and closed here.
    """
    base = url.rstrip("/")
    if session is None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as own:
            return await replay_plans(plans, url, key, speed, own)
    client = _Client(session, {"Authorization": f"Bearer {key}"})
    return list(await asyncio.gather(*(replay_match(client, base, plan, speed) for plan in plans)))


async def replay_file(
    path: str | Path,
    url: str,
    key: str,
    speed: float | None,
    session: aiohttp.ClientSession | None = None,
    prefix: str = "",
) -> list[ReplayResult]:
    """Replay every match in `path` against the service at `url`, one result per match.

    Raises ReplayDataError when the file does not follow the schema (before anything is sent).
    """
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    plans = load_plans(text, prefix)
    return await replay_plans(plans, url, key, speed, session)


# --------------------------------------------------------------------------- CLI


def add_replay_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `replay` sub-command to an argparse subparsers object; sets `func=run_replay`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "replay",
        help="post the matches of a real-match file to a running service",
        description="Replay real matches (schema: shared/data/README.md) into a running service "
        "and compare the final scores it reports with the recorded ones. Exits 1 if any differs.",
    )
    parser.add_argument("file", metavar="FILE", help="JSON file shaped like real_matches.json")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="service base URL (default: %(default)s)")
    parser.add_argument("--key", required=True, help="scorekeeper API key (sent as Bearer)")
    parser.add_argument(
        "--speed",
        type=float,
        default=None,
        help="X times real time between events on the match clock; omitted: as fast as possible",
    )
    parser.add_argument("--prefix", default="", help="prefix for match ids, to replay the file again side by side")
    parser.set_defaults(func=run_replay)
    return parser


def run_replay(args: argparse.Namespace) -> int:
    """Run the replay sub-command: one line per match; 0 when every score matches, else 1."""
    if args.speed is not None and args.speed <= 0:
        print("replay: --speed must be positive", file=sys.stderr)
        return 2
    try:
        results = asyncio.run(replay_file(args.file, args.url, args.key, args.speed, prefix=args.prefix))
    except (OSError, ReplayDataError) as exc:
        print(f"replay: {args.file}: {exc}", file=sys.stderr)
        return 2
    for result in results:
        verdict = "ok  " if result.ok else "DIFF"
        line = (
            f"{verdict} {result.match_id}: service {format_score(result.reported)}, "
            f"recorded {format_score(result.expected)} "
            f"({result.posted} events posted, {result.repeated} already there)"
        )
        if result.error:
            line += f" error: {result.error}"
        print(line)
    return 0 if all(result.ok for result in results) else 1
