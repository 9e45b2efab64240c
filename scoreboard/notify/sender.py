"""Sending pushes: encrypt per subscription, POST to its push service, retry what may succeed.

Runs wherever `pool.py` puts it: in the sender process (the default) or on the server's loop.
A fixed set of `concurrency` workers takes (job, target) pairs from one FIFO, so a goal for
20,000 fans is 20,000 queue entries, not 20,000 tasks, and jobs are sent in the order given.

Outcomes per target (RFC 8030 §5-8): 2xx sent; 404/410 gone (the caller deletes the
subscription); 429, 5xx and network errors are retried with backoff, honouring Retry-After,
while the message's TTL lasts; other 4xx fail. A retry that a newer message for the same
subscription and match has overtaken is dropped: with the same Topic it would replace the
newer score at the push service.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from .guard import GuardedResolver, OutboundGuard, OutboundRefused
from .http1 import HttpClient, HttpProtocolError, split_url
from .vapid import Vapid
from .webpush import b64url_decode, encrypt

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE = 1.0  # seconds before the first retry; doubled each time, with jitter
MAX_RETRY_DELAY = 600.0  # a Retry-After longer than this is not waited for
REQUEST_TIMEOUT = 10.0

# (subscription id, endpoint, p256dh, auth): a tuple, cheap to pickle 20,000 times.
Target = tuple[str, str, str, str]


@dataclass
class PushJob:
    """One alert for a batch of subscriptions."""

    job_id: int
    targets: list[Target]
    payload: bytes
    match_id: str
    seq: int
    topic: str
    urgency: str
    expires_at: float  # Unix time after which the alert is stale (event time + TTL)


@dataclass
class JobResult:
    job_id: int
    sent: int = 0
    # (subscription id, endpoint) the push service forgot: the endpoint too, since the
    # subscription may have been renewed with a new one while this push was under way.
    gone: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, why)
    retries: int = 0
    superseded: int = 0
    stale: int = 0  # not sent: the TTL had run out


@dataclass
class _Pending:
    job: PushJob
    result: JobResult
    left: int
    done: asyncio.Future[JobResult]


class PushSender:
    """Sends push jobs with at most `concurrency` requests in flight."""

    def __init__(self, vapid: Vapid, guard: OutboundGuard, concurrency: int = 64,
                 timeout: float = REQUEST_TIMEOUT) -> None:
        self.vapid = vapid
        self.guard = guard
        self.concurrency = concurrency
        self.timeout = timeout
        self._client: HttpClient | None = None
        self._queue: deque[tuple[_Pending, Target, int]] = deque()  # (job, target, attempt)
        self._wake = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._retry_handles: set[asyncio.TimerHandle] = set()
        # (subscription id, topic) -> newest seq sent, kept only while a retry for it waits.
        self._retrying: dict[tuple[str, str], int] = {}

    async def start(self) -> None:
        self._client = HttpClient(GuardedResolver(self.guard), max_idle=self.concurrency)
        self._workers = [asyncio.create_task(self._work(), name=f"push-{n}") for n in range(self.concurrency)]

    async def stop(self) -> None:
        for handle in self._retry_handles:
            handle.cancel()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self._client is not None:
            await self._client.close()
            self._client = None

    def send(self, job: PushJob) -> asyncio.Future[JobResult]:
        """Queue `job`; the future resolves when every target has an outcome."""
        done: asyncio.Future[JobResult] = asyncio.get_running_loop().create_future()
        pending = _Pending(job, JobResult(job.job_id), len(job.targets), done)
        if not job.targets:
            done.set_result(pending.result)
            return done
        self._queue.extend((pending, target, 1) for target in job.targets)
        self._wake.set()
        return done

    async def _work(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            pending, target, attempt = self._queue.popleft()
            try:
                await self._send_one(pending, target, attempt)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not kill a worker and strand the job
                log.exception("push to subscription %s failed unexpectedly", target[0])
                self._finish(pending, target, "failed", f"internal error: {exc.__class__.__name__}")

    async def _send_one(self, pending: _Pending, target: Target, attempt: int) -> None:
        job = pending.job
        key = (target[0], job.topic)
        if attempt > 1 and self._retrying.get(key, job.seq) > job.seq:
            self._retrying.pop(key, None)
            pending.result.superseded += 1
            self._finish(pending, target, "superseded")
            return
        ttl = int(job.expires_at - time.time())
        if ttl <= 0:
            self._finish(pending, target, "stale")
            return
        status, retry_after, why = await self._post(job, target, ttl)
        if 200 <= status < 300:
            if key in self._retrying:
                self._retrying[key] = max(self._retrying[key], job.seq)
            if attempt > 1:
                self._retrying.pop(key, None)
            self._finish(pending, target, "sent")
        elif status in (404, 410):
            self._finish(pending, target, "gone")
        elif (status == 429 or status >= 500 or status == 0) and attempt < MAX_ATTEMPTS:
            delay = retry_after if retry_after is not None else RETRY_BASE * 2 ** (attempt - 1)
            delay = delay * random.uniform(1.0, 1.25)  # spread retries of one burst
            if delay > MAX_RETRY_DELAY or time.time() + delay >= job.expires_at:
                self._finish(pending, target, "failed", f"{why}; retry would come after the TTL")
                return
            pending.result.retries += 1
            self._retrying.setdefault(key, job.seq)
            self._schedule_retry(pending, target, attempt + 1, delay)
        else:
            self._retrying.pop(key, None)
            self._finish(pending, target, "failed", why)

    async def _post(self, job: PushJob, target: Target, ttl: int) -> tuple[int, float | None, str]:
        """(status, Retry-After seconds, description); status 0 for a network failure."""
        assert self._client is not None
        _, endpoint, p256dh, auth = target
        try:
            body = encrypt(job.payload, b64url_decode(p256dh), b64url_decode(auth))
        except ValueError as exc:
            return 400, None, f"cannot encrypt for this subscription: {exc}"
        try:
            where = split_url(endpoint)
            headers = (
                ("TTL", str(ttl)), ("Content-Encoding", "aes128gcm"), ("Content-Type", "application/octet-stream"),
                ("Urgency", job.urgency), ("Topic", job.topic), ("Authorization", self.vapid.authorization_for(where.origin)),
            )
            response = await self._client.post(where, headers, body, self.timeout)
        except OutboundRefused as exc:
            return 403, None, f"refused: {exc}"
        except ConnectionRefusedError as exc:
            return 0, None, f"cannot connect: {exc}"
        except (HttpProtocolError, asyncio.TimeoutError, OSError) as exc:
            return 0, None, f"network error: {exc.__class__.__name__}"
        return response.status, _retry_after(response.headers.get("retry-after")), f"HTTP {response.status}"

    def _schedule_retry(self, pending: _Pending, target: Target, attempt: int, delay: float) -> None:
        loop = asyncio.get_running_loop()

        def requeue() -> None:
            self._retry_handles.discard(handle)
            self._queue.append((pending, target, attempt))
            self._wake.set()

        handle = loop.call_later(delay, requeue)
        self._retry_handles.add(handle)

    def _finish(self, pending: _Pending, target: Target, outcome: str, why: str = "") -> None:
        result = pending.result
        if outcome == "sent":
            result.sent += 1
        elif outcome == "gone":
            result.gone.append((target[0], target[1]))
        elif outcome == "stale":
            result.stale += 1
        elif outcome == "failed":
            result.failed.append((target[0], why))
        pending.left -= 1
        if pending.left == 0 and not pending.done.done():
            pending.done.set_result(result)


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (RFC 9110 §10.2.3: delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
