"""What the notify stores keep: push subscriptions, webhook endpoints, queued deliveries."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from ..domain import utc_now
from .alerts import ALERT_KINDS


def new_id() -> str:
    return uuid.uuid4().hex


def new_token(prefix: str) -> str:
    """A bearer secret: shown once, stored only as its hash (push) or needed in clear (webhooks)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def team_key(name: str) -> str:
    """Teams are followed by name: "Argentina", "argentina " and "ARGENTINA" are one team."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class PushSubscription:
    """One browser's push subscription and what it wants to hear about."""

    id: str
    endpoint: str
    p256dh: str  # base64url, as the browser's PushSubscription.toJSON() gives it
    auth: str
    token_hash: str  # sha256 of the management token (the token itself is never stored)
    matches: frozenset[str] = frozenset()
    teams: tuple[str, ...] = ()  # as the fan wrote them; matched with team_key
    events: frozenset[str] = frozenset(ALERT_KINDS)
    created_at: str = field(default_factory=utc_now)
    # A keyed hash of the client address it was made from (never the address itself): how
    # push_max_per_client counts. Empty for subscriptions made before it was kept.
    client: str = ""

    def token_matches(self, token: str) -> bool:
        return hmac.compare_digest(self.token_hash, token_hash(token))

    def wants(self, match_id: str, home: str, away: str, private: bool, kind: str) -> bool:
        """Whether an alert of `kind` in this match is for this subscription.

        A followed team never opens a private match: that needs the match itself, which was
        granted with a viewer token when subscribing.
        """
        if kind not in self.events:
            return False
        if match_id in self.matches:
            return True
        if private or not self.teams:
            return False
        keys = {team_key(team) for team in self.teams}
        return team_key(home) in keys or team_key(away) in keys

    def view(self) -> dict[str, Any]:
        """The public shape (API answers): no keys, no token."""
        return {
            "id": self.id, "endpoint_origin": _origin(self.endpoint), "matches": sorted(self.matches),
            "teams": list(self.teams), "events": [k for k in ALERT_KINDS if k in self.events],
            "created_at": self.created_at,
        }

    def to_json(self) -> str:
        return json.dumps({
            "id": self.id, "endpoint": self.endpoint, "p256dh": self.p256dh, "auth": self.auth,
            "token_hash": self.token_hash, "matches": sorted(self.matches), "teams": list(self.teams),
            "events": sorted(self.events), "created_at": self.created_at, "client": self.client,
        })

    @classmethod
    def from_json(cls, raw: str | bytes) -> PushSubscription:
        data = json.loads(raw)
        return cls(
            id=data["id"], endpoint=data["endpoint"], p256dh=data["p256dh"], auth=data["auth"],
            token_hash=data["token_hash"], matches=frozenset(data["matches"]), teams=tuple(data["teams"]),
            events=frozenset(data["events"]), created_at=data["created_at"], client=data.get("client", ""),
        )


@dataclass(frozen=True)
class WebhookEndpoint:
    """A site's URL that gets every matching event as a signed POST."""

    id: str
    url: str
    secret: str  # the HMAC key; needed in clear to sign, shown to the owner once
    events: frozenset[str] = frozenset()  # event types; empty = every type
    matches: frozenset[str] = frozenset()  # empty = every match
    description: str = ""
    created_at: str = field(default_factory=utc_now)
    disabled_at: str | None = None
    disabled_reason: str | None = None
    # After a rotation the old secret signs too (a second v1) until this Unix time, so the
    # receiver can switch over without refusing a delivery.
    previous_secret: str | None = None
    previous_secret_until: float | None = None

    def wants(self, match_id: str, event_type: str) -> bool:
        """Whether the event goes into this endpoint's outbox (also while it is disabled:
        re-enabling resumes from there)."""
        return (not self.matches or match_id in self.matches) and (not self.events or event_type in self.events)

    def disabled(self, reason: str) -> WebhookEndpoint:
        return replace(self, disabled_at=utc_now(), disabled_reason=reason)

    def enabled(self) -> WebhookEndpoint:
        return replace(self, disabled_at=None, disabled_reason=None)

    def rotated(self, secret: str, previous_valid_for: float, now: float) -> WebhookEndpoint:
        """With a new secret; the current one keeps signing for `previous_valid_for` seconds."""
        if previous_valid_for <= 0:
            return replace(self, secret=secret, previous_secret=None, previous_secret_until=None)
        return replace(self, secret=secret, previous_secret=self.secret, previous_secret_until=now + previous_valid_for)

    def signing_secrets(self, now: float) -> list[str]:
        """The secrets a delivery is signed with now: the current one first."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]

    def view(self, now: float | None = None) -> dict[str, Any]:
        until = self.previous_secret_until
        if until is not None and until <= (time.time() if now is None else now):
            until = None
        return {
            "id": self.id, "url": self.url, "events": sorted(self.events), "matches": sorted(self.matches),
            "description": self.description, "created_at": self.created_at,
            "disabled": None if self.disabled_at is None else {"at": self.disabled_at, "reason": self.disabled_reason},
            "previous_secret_expires_at": None if until is None else iso_time(until),
        }

    def to_json(self) -> str:
        return json.dumps({
            "id": self.id, "url": self.url, "secret": self.secret, "events": sorted(self.events),
            "matches": sorted(self.matches), "description": self.description, "created_at": self.created_at,
            "disabled_at": self.disabled_at, "disabled_reason": self.disabled_reason,
            "previous_secret": self.previous_secret, "previous_secret_until": self.previous_secret_until,
        })

    @classmethod
    def from_json(cls, raw: str | bytes) -> WebhookEndpoint:
        data = json.loads(raw)
        return cls(
            id=data["id"], url=data["url"], secret=data["secret"], events=frozenset(data["events"]),
            matches=frozenset(data["matches"]), description=data.get("description", ""),
            created_at=data["created_at"], disabled_at=data.get("disabled_at"),
            disabled_reason=data.get("disabled_reason"), previous_secret=data.get("previous_secret"),
            previous_secret_until=data.get("previous_secret_until"),
        )


@dataclass(frozen=True)
class QueuedDelivery:
    """One event waiting to reach one endpoint; `body` is the exact JSON that is signed and sent."""

    endpoint_id: str
    match_id: str
    seq: int
    event_id: str  # Scoreboard-Event-Id: "<match id>:<seq>", the same on every retry
    body: str
    attempts: int = 0  # since it was queued, or since its endpoint was last enabled
    first_at: float = 0.0  # Unix time it was queued: a disabled endpoint's outbox keeps webhook_max_age
    next_at: float = 0.0  # Unix time of the next attempt
    # Unix time of its first failed attempt (0: none yet): failing for webhook_max_age from
    # there disables the endpoint. Reset when the endpoint is enabled again.
    failing_since: float = 0.0

    def to_json(self) -> str:
        return json.dumps({
            "endpoint_id": self.endpoint_id, "match_id": self.match_id, "seq": self.seq,
            "event_id": self.event_id, "body": self.body, "attempts": self.attempts,
            "first_at": self.first_at, "next_at": self.next_at, "failing_since": self.failing_since,
        })

    @classmethod
    def from_json(cls, raw: str | bytes) -> QueuedDelivery:
        return cls(**json.loads(raw))


def iso_time(unix: float) -> str:
    """A Unix time as the API writes times (UTC, ISO 8601)."""
    return datetime.fromtimestamp(unix, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}"
