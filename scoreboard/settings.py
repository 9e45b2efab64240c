"""Settings: defaults in config/default.toml, overridden by the environment, then by CLI flags.

TOML because Python 3.11 reads it with the standard library (tomllib), it has comments and
types, and it is what Python packaging already uses. Platform variables keep the names
platforms give them (PORT, HOST, REDIS_URL, WEB_CONCURRENCY); ours are SCOREBOARD_<NAME>.

Every default is written once, in config/default.toml (the commented file users read, shipped
in the package): the dataclass below takes its defaults from it when this module is imported,
and refuses to load if the file and the fields do not name the same settings.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .resources import default_config_text

# The local scorekeeper key of `make run` (dev_key = true): public, printed in the README and
# on /console, so it is used only when no api_keys are set and never masked in logs.
DEV_KEY = "dev-key"
PLATFORM_ENV = {"host": "HOST", "port": "PORT", "redis_url": "REDIS_URL",
                "web_concurrency": "WEB_CONCURRENCY"}
_Class = TypeVar("_Class", bound=type)


class SettingsError(Exception):
    """A setting that cannot be used; the message names it and is shown as one line."""


def _convert_kind(kind: str, raw: Any, source: str) -> Any:
    """`raw` as the field type `kind` (a string: annotations are postponed) or SettingsError."""
    try:
        if kind == "int":
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            lowered = str(raw).strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError
        if kind.startswith("tuple"):
            items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
        return str(raw)
    except ValueError:
        expected = {"int": "an integer", "float": "a number", "bool": "true or false"}.get(kind, kind)
        raise SettingsError(f"{source}: {raw!r} is not {expected}") from None


def _opt(help: str) -> Any:
    """A setting: its help text here, its default in config/default.toml (see _defaults_from)."""
    return field(metadata={"help": help})


def _defaults_from(text: str, source: str) -> Callable[[_Class], _Class]:
    """Class decorator (applied before @dataclass): each field's default from the TOML `text`.

    A setting missing from the file, or one the file names that is no field, is an error: the
    file and the class cannot drift apart.
    """

    def apply(cls: _Class) -> _Class:
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{source}: {exc}") from None
        names = set(cls.__annotations__)
        if names != set(table):
            missing, unknown = sorted(names - set(table)), sorted(set(table) - names)
            raise SettingsError(f"{source}: settings without a default {missing}, unknown settings {unknown}")
        for name, raw in table.items():
            cls.__dict__[name].default = _convert_kind(cls.__annotations__[name], raw, f"{source}: {name}")
        return cls

    return apply


@dataclass(frozen=True)
@_defaults_from(default_config_text(), "config/default.toml")
class Settings:
    host: str = _opt("interface to listen on (0.0.0.0 on a platform)")
    port: int = _opt("TCP port to listen on")
    db: str = _opt("SQLite file of the embedded default (created on first start)")
    api_keys: tuple[str, ...] = _opt("comma-separated scorekeeper API keys")
    dev_key: bool = _opt(f"with no api_keys, accept the public local key {DEV_KEY!r} and name it on /console "
                         "(make run; never on a public host)")
    redis_url: str = _opt("redis:// or rediss:// URL; when set, state and fan-out live in Redis")
    redis_tls_insecure: bool = _opt("accept a self-signed certificate on rediss:// (hosted Redis)")
    redis_prefix: str = _opt("prefix of every Redis key (several services can share one Redis)")
    redis_timeout: float = _opt("seconds a Redis command may take before the request answers 503")
    redis_stream_maxlen: int = _opt("commits kept in the Redis stream for instances catching up")
    redis_pool_size: int = _opt("Redis connections per process; past it commands wait (up to redis_timeout) for one")
    web_concurrency: int = _opt("worker processes sharing the port")
    event_loop: str = _opt("auto (uvloop when installed: pip install 'scoreboard[fast]'), uvloop or asyncio")
    log_level: str = _opt("debug, info, warning or error")
    log_format: str = _opt("text or json")
    ws_ping_interval: float = _opt("seconds between server pings; keep under the router's 55 s idle cut")
    subscriber_buffer: int = _opt("frames queued for one slow subscriber before it is disconnected")
    snapshot_events: int = _opt("events of the log tail sent with a snapshot")
    max_body_bytes: int = _opt("largest request body accepted")
    max_ws_message_bytes: int = _opt("largest WebSocket message accepted from a client")
    allowed_origins: tuple[str, ...] = _opt("origins allowed for CORS and WebSocket (empty = any)")
    frame_ancestors: str = _opt("CSP frame-ancestors for the /embed/{id} iframe")
    shutdown_timeout: float = _opt("seconds to finish in-flight work on SIGTERM (platforms kill at 30)")
    ephemeral_disk: bool = _opt(
        "the disk is wiped on restart: warn that SQLite scores will not survive (found by itself on Heroku, Dokku, Render)")
    # Private matches and limits (README "Security"). 0 turns a limit off where that is allowed.
    secret: str = _opt("key signing viewer tokens, 32+ bytes (empty: random per start, tokens die with the process)")
    token_max_ttl: int = _opt("longest viewer token lifetime a scorekeeper may ask for, seconds")
    max_subscriptions: int = _opt("matches one live connection may follow")
    max_connections_per_client: int = _opt("open WebSocket + SSE connections per client address (0 = no limit)")
    metrics_token: str = _opt("bearer token GET /metrics asks for (empty: open, for a private network)")
    trust_forwarded: bool = _opt("take the client address from X-Forwarded-For (only behind a router that sets it)")
    ingest_rate: float = _opt("events per second one API key may post, sustained (0 = no limit)")
    ingest_burst: int = _opt("events one API key may post at once before ingest_rate applies")
    ws_auth_timeout: float = _opt("seconds a WebSocket that must authenticate has to send its auth message")
    ws_idle_timeout: float = _opt("seconds a WebSocket may stay open without any subscription (0 = no limit)")
    header_timeout: float = _opt("seconds a new connection has to send its first request's headers, and a request its body (slowloris)")
    keepalive_timeout: float = _opt("seconds a keep-alive connection may wait for its next request; keep above the router's idle timeout")
    match_idle_seconds: float = _opt(
        "seconds a match nobody follows may go unused before its in-memory state is let go (reloaded from the store when next needed)")
    watching_interval: float = _opt(
        "seconds between updates of each match's \"N watching\" count (sent to its fans only when it changed)")
    max_connections: int = _opt(
        "open connections (HTTP, WebSocket, SSE) at once, past which new ones get 503 (0 = the open-file limit less a reserve)")
    max_handshakes: int = _opt(
        "live connections opening at once (upgrade until first catch-up sent), past which new ones get 503 + Retry-After (0 = no limit)")
    # Notifications (README "Notifications"): Web Push and webhooks.
    vapid_private_key: str = _opt("VAPID key for Web Push, PEM or base64url (empty: made once and kept in the store)")
    vapid_subject: str = _opt("contact push services may write to: mailto:you@example.com or https://your.site")
    outbound_allow_private: bool = _opt(
        "let webhooks and push endpoints use http and private, loopback or link-local addresses (tests, private networks)")
    push_ttl: int = _opt("seconds a push service keeps an undelivered push (a phone that is off); older events are not pushed")
    push_concurrency: int = _opt("push requests in flight per sender")
    push_processes: int = _opt("sender processes for pushes (0: send from the server's own loop)")
    push_nice: int = _opt("how much lower the sender processes' CPU priority is than the server's (0-19)")
    push_subscribe_rate: float = _opt(
        "push subscription requests (POST/PUT) per second per client address, sustained (0 = no limit)")
    push_subscribe_burst: int = _opt("push subscription requests one client address may make at once")
    push_max_per_client: int = _opt("push subscriptions made from one client address that may exist at once (0 = no limit)")
    push_max_subscriptions: int = _opt("push subscriptions the service keeps in all; then 507 (0 = no limit)")
    push_max_matches: int = _opt("matches one push subscription may follow")
    push_max_teams: int = _opt("teams one push subscription may follow")
    webhook_max_age: float = _opt(
        "seconds a failing webhook delivery is retried before its endpoint is disabled; what a disabled endpoint's outbox keeps")
    webhook_timeout: float = _opt("seconds a webhook receiver has to answer")

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise SettingsError(f"port: {self.port} is not a TCP port (1-65535)")
        if self.web_concurrency < 1:
            raise SettingsError(f"web_concurrency: must be at least 1, got {self.web_concurrency}")
        if self.log_level.lower() not in ("debug", "info", "warning", "error"):
            raise SettingsError(f"log_level: {self.log_level!r} is not debug, info, warning or error")
        if self.event_loop not in ("auto", "uvloop", "asyncio"):
            raise SettingsError(f"event_loop: {self.event_loop!r} is not auto, uvloop or asyncio")
        if self.log_format not in ("text", "json"):
            raise SettingsError(f"log_format: {self.log_format!r} is not text or json")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError("redis_url: must start with redis://, rediss:// or unix://")
        for name in ("ws_ping_interval", "shutdown_timeout", "redis_timeout"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name}: must be greater than 0")
        for name in ("subscriber_buffer", "snapshot_events", "max_body_bytes", "max_ws_message_bytes",
                     "redis_stream_maxlen", "redis_pool_size"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name}: must be at least 1")
        if any(not key for key in self.api_keys):
            raise SettingsError("api_keys: contains an empty key")
        if self.secret and len(self.secret.encode()) < 32:
            raise SettingsError("secret: must be at least 32 bytes (try: python3 -c 'import secrets; print(secrets.token_urlsafe(48))')")
        for name in ("token_max_ttl", "max_subscriptions", "ingest_burst"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name}: must be at least 1")
        for name in ("max_connections_per_client", "ingest_rate", "ws_idle_timeout", "max_handshakes"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name}: must be 0 (off) or more")
        if self.ws_auth_timeout <= 0:
            raise SettingsError("ws_auth_timeout: must be greater than 0")
        for name in ("header_timeout", "keepalive_timeout", "match_idle_seconds", "watching_interval"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name}: must be greater than 0")
        if self.max_connections < 0:
            raise SettingsError("max_connections: must be 0 (sized from the open-file limit) or more")
        self._check_notify()

    def _check_notify(self) -> None:
        for name in ("push_ttl", "push_concurrency", "push_subscribe_burst", "push_max_matches", "push_max_teams"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name}: must be at least 1")
        for name in ("push_subscribe_rate", "push_max_per_client", "push_max_subscriptions"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name}: must be 0 (off) or more")
        if self.push_processes < 0:
            raise SettingsError("push_processes: must be 0 (the server's loop) or more")
        if not 0 <= self.push_nice <= 19:
            raise SettingsError("push_nice: must be between 0 and 19")
        for name in ("webhook_max_age", "webhook_timeout"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name}: must be greater than 0")
        if self.vapid_subject and not self.vapid_subject.startswith(("mailto:", "https://")):
            raise SettingsError("vapid_subject: must start with mailto: or https://")
        if self.vapid_private_key and not _is_p256_key(self.vapid_private_key):
            raise SettingsError("vapid_private_key: not a P-256 private key in PEM or base64url "
                                "(make one: python -m scoreboard vapid-keys)")

    @property
    def scorekeeper_keys(self) -> tuple[str, ...]:
        """The keys in force: api_keys, else the built-in local key when dev_key is on."""
        return self.api_keys or ((DEV_KEY,) if self.dev_key else ())

    @property
    def uses_dev_key(self) -> bool:
        """True when the only key is the public DEV_KEY: pages may then print it."""
        return self.dev_key and not self.api_keys

    def public_dict(self) -> dict[str, Any]:
        """The settings with secrets masked, safe to log."""
        shown = dataclasses.asdict(self)
        shown["api_keys"] = f"<{len(self.api_keys)} keys>"
        shown["secret"] = "<set>" if self.secret else "<random per start>"
        shown["metrics_token"] = "<set>" if self.metrics_token else "<none: open>"
        shown["vapid_private_key"] = "<set>" if self.vapid_private_key else "<kept in the store>"
        if self.redis_url and "@" in self.redis_url:
            scheme, rest = self.redis_url.split("://", 1)
            shown["redis_url"] = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
        return shown


def _is_p256_key(text: str) -> bool:
    """Whether `text` is what notify.vapid.load_private_key reads (checked here at start-up, so
    a bad key stops the service with one line instead of failing at the first push)."""
    import base64
    import binascii

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
            return isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if len(raw) != 32:
            return False
        ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
        return True
    except (ValueError, TypeError, binascii.Error):
        return False


FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def env_name(name: str) -> str:
    return PLATFORM_ENV.get(name, f"SCOREBOARD_{name.upper()}")


def _convert(name: str, raw: Any, source: str) -> Any:
    return _convert_kind(str(FIELDS[name].type), raw, source)


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    unknown = set(table) - set(FIELDS)
    if unknown:
        raise SettingsError(f"config file {path}: unknown setting {sorted(unknown)[0]!r}")
    return {name: _convert(name, value, f"{path.name}: {name}") for name, value in table.items()}


def load_settings(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge the three layers; raises SettingsError naming the first bad setting.

    `cli` holds parsed flag values by setting name (None = flag not given).
    """
    env = os.environ if env is None else env
    named = config_file or env.get("SCOREBOARD_CONFIG")
    values: dict[str, Any] = read_config_file(Path(named)) if named else {}
    for name in FIELDS:
        key = env_name(name)
        if key in env:
            values[name] = _convert(name, env[key], key)
    for name, raw in (cli or {}).items():
        if name in FIELDS and raw is not None:
            values[name] = _convert(name, raw, "--" + name.replace("_", "-"))
    return Settings(**values)


def add_settings_arguments(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """One flag per setting, with its environment variable and default in the help.

    `suppress`: leave flags not given out of the namespace (for a subcommand's copy).
    """
    defaults = Settings()
    for name, spec in FIELDS.items():
        default = getattr(defaults, name)
        shown = ",".join(default) if isinstance(default, tuple) else default
        parser.add_argument(
            "--" + name.replace("_", "-"), dest=name, metavar=env_name(name),
            default=argparse.SUPPRESS if suppress else None,
            help=f"{spec.metadata['help']} [env {env_name(name)}; default {shown!r}]",
        )

