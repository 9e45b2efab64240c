"""Posting plans to a running service as a scorekeeper would, and checking what it reports.

Matches are replayed concurrently (as on a match day); each reports a line when it starts
and when it ends, so a long replay at `--speed 1` is never silent.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from ..domain import result_line
from .plan import MatchPlan, Score, format_score, load_plans, schedule

# Transient failures only: a 503 means "nothing was stored, try again", a 429 "nothing was
# stored, slow down" (the per-key ingest rate limit), and a lost connection may or may not
# have stored the event, which the client ids make safe to resend. Any other 4xx is our
# mistake (or a data problem) and resending it cannot help, so it is reported instead.
RETRY_STATUSES = frozenset({429, 503})
MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 5.0

Report = Callable[[str], None]


@dataclass
class ReplayResult:
    """The outcome of one match's replay: what the service reports next to what was recorded."""

    plan: MatchPlan
    view: dict[str, Any] | None = None  # the service's match view after the last event
    created: bool = False
    posted: int = 0
    repeated: int = 0
    error: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def match_id(self) -> str:
        return self.plan.match_id

    @property
    def expected(self) -> Score:
        return self.plan.expected

    @property
    def reported(self) -> Score | None:
        if self.view is None:
            return None
        return {"home": int(self.view["score"]["home"]), "away": int(self.view["score"]["away"])}

    @property
    def ok(self) -> bool:
        """True when the replay went through and the service reports the recorded result."""
        return self.error is None and self.view is not None and not self.problems

    def check(self) -> None:
        """Compare the service's view with the record: score, shootout, winner, decided_by."""
        view, plan = self.view, self.plan
        assert view is not None
        if self.reported != plan.expected:
            self.problems.append(f"score {format_score(self.reported)}, recorded {format_score(plan.expected)}")
        if plan.shootout_replayed:
            shootout = view.get("shootout") or {}
            reported = {"home": shootout.get("home"), "away": shootout.get("away")}
            if reported != plan.shootout:
                self.problems.append(f"shootout {reported}, recorded {plan.shootout}")
        for name, expected in (("winner", plan.winner), ("decided_by", plan.decided_by)):
            if view.get(name) != expected:
                self.problems.append(f"{name} {view.get(name)!r}, recorded {expected!r}")
        if view.get("status") != "finished":
            self.problems.append(f"status {view.get('status')!r}")


def started_line(plan: MatchPlan) -> str:
    where = ", ".join(str(plan.create[k]) for k in ("competition", "stage", "venue") if plan.create.get(k))
    kickoff = plan.create.get("starts_at")
    details = "; ".join(part for part in (where, f"kickoff {kickoff}" if kickoff else "") if part)
    return f"start {plan.home} v {plan.away}" + (f" ({details})" if details else "") + f" [{plan.match_id}]"


def finished_line(result: ReplayResult) -> str:
    """"ok   Argentina 3-3 France (AET), Argentina win 4-2 on penalties [id; 60 events posted]"."""
    plan, view = result.plan, result.view
    verdict = "ok  " if result.ok else "DIFF"
    summary = f"{plan.home} {format_score(result.reported)} {plan.away}"
    if view is not None and view.get("status") == "finished":
        summary += f" ({_how(view)})"
        if view.get("decided_by") == "penalties":
            summary += f", {result_line(plan.home, plan.away, view, dash='-')}"
    counts = f"{result.posted} events posted, {result.repeated} already there"
    line = f"{verdict} {summary} [{plan.match_id}; {counts}]"
    if result.problems:
        line += "; " + "; ".join(result.problems)
    if result.error:
        line += f" error: {result.error}"
    for note in plan.notes:
        line += f" (note: {note})"
    return line


def _how(view: Mapping[str, Any]) -> str:
    """"FT" or "AET": how the score line was reached (a shootout after extra time reads AET)."""
    decided = view.get("decided_by")
    if decided == "extra_time":
        return "AET"
    if decided == "penalties":
        shootout = view.get("shootout") or {}
        return "AET" if int(shootout.get("after_period", 0)) > 2 else "FT"
    return "FT"


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
    status, payload = await _request(client, "POST", f"{base}/api/matches", plan.create)
    if status == 409 and _error_code(payload) == "match_exists":
        status, payload = await _request(client, "GET", f"{base}/api/matches/{plan.match_id}")
        _raise_for(status, payload)
        if (payload.get("home"), payload.get("away")) != (plan.home, plan.away):
            raise ServiceError(409, "match_exists", f"{plan.match_id} exists with other teams")
        return False
    _raise_for(status, payload)
    return True


async def replay_match(
    client: _Client, base: str, plan: MatchPlan, speed: float | None, report: Report | None = None,
) -> ReplayResult:
    """Replay one match; errors are recorded in the result, never raised, so others go on.

    Steps are due at fixed offsets from the start (`plan.schedule`), so request latency does
    not add up over a match played in real time.
    """
    result = ReplayResult(plan)
    try:
        result.created = await _ensure_match(client, base, plan)
        if report:
            report(started_line(plan))
        url = f"{base}/api/matches/{plan.match_id}/events"
        loop = asyncio.get_running_loop()
        start = loop.time()
        for step, due in zip(plan.steps, schedule(plan, speed)):
            wait = start + due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            status, payload = await _request(client, "POST", url, list(step.events))
            _raise_for(status, payload)
            # A batch is stored whole or not at all; 200 is "already stored": a re-run adds nothing.
            if status == 200:
                result.repeated += len(step.events)
            else:
                result.posted += len(step.events)
        status, payload = await _request(client, "GET", f"{base}/api/matches/{plan.match_id}")
        _raise_for(status, payload)
        result.view = payload
        result.check()
    except ServiceError as exc:
        result.error = str(exc)
    if report:
        report(finished_line(result))
    return result


async def replay_plans(
    plans: Sequence[MatchPlan],
    url: str,
    key: str,
    speed: float | None,
    session: aiohttp.ClientSession | None = None,
    report: Report | None = None,
) -> list[ReplayResult]:
    """Replay matches concurrently (as on a match day); results in the order of `plans`.

    A given `session` is used and left open (the Bearer header is added per request);
    otherwise one is created and closed here. `report` gets a line as each match starts and ends.
    """
    base = url.rstrip("/")
    if session is None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as own:
            return await replay_plans(plans, url, key, speed, own, report)
    client = _Client(session, {"Authorization": f"Bearer {key}"})
    return list(await asyncio.gather(*(replay_match(client, base, plan, speed, report) for plan in plans)))


async def replay_file(
    path: str | Path,
    url: str,
    key: str,
    speed: float | None,
    session: aiohttp.ClientSession | None = None,
    prefix: str = "",
    report: Report | None = None,
) -> list[ReplayResult]:
    """Replay every match in `path` against the service at `url`, one result per match.

    Raises ReplayDataError when the file does not follow the schema (before anything is sent).
    """
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    plans = load_plans(text, prefix)
    return await replay_plans(plans, url, key, speed, session, report)
