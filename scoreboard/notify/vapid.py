"""VAPID (RFC 8292): the application server's P-256 key and the ES256 JWT each push carries.

The key comes from settings (PEM, or the base64url private scalar other Web Push tools print)
or is made once and kept in the notify store, so every instance and restart signs with the
key browsers subscribed with. A JWT is valid for its audience (the push service's origin)
until `exp`; it is signed once per origin and reused for hours, not once per push (~37 µs).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .webpush import CURVE, b64url, b64url_decode

# RFC 8292 §2: exp at most 24 h ahead. Twelve hours, re-signed after eleven: a JWT never
# reaches a push service within an hour of expiring.
JWT_LIFETIME = 12 * 3600
JWT_REFRESH = 11 * 3600
DEFAULT_SUBJECT = "mailto:push@scoreboard.invalid"


class VapidKeyError(ValueError):
    """A configured VAPID private key that is not a P-256 key in a known encoding."""


def generate_pem() -> str:
    key = ec.generate_private_key(CURVE)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption(),
    ).decode()


def load_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A PEM (PKCS#8 or SEC1) or base64url 32-byte private key; raises VapidKeyError."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = b64url_decode(text)
            if len(raw) != 32:
                raise ValueError("not 32 bytes")
            key = ec.derive_private_key(int.from_bytes(raw, "big"), CURVE)
    except (ValueError, TypeError) as exc:
        raise VapidKeyError(f"not a P-256 private key in PEM or base64url: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise VapidKeyError("the key must be an EC key on P-256 (prime256v1)")
    return key


def raw_private(key: ec.EllipticCurvePrivateKey) -> str:
    """The base64url private scalar: one line, fit for an environment variable."""
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def origin_of(url: str) -> str:
    """The JWT audience for a push endpoint: scheme://host[:port] (RFC 8292 §2)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


@dataclass
class Vapid:
    """Signs the Authorization header for push requests; one per sender."""

    key: ec.EllipticCurvePrivateKey
    subject: str = DEFAULT_SUBJECT
    public_key: str = field(init=False)  # base64url uncompressed point: the applicationServerKey
    _cache: dict[str, tuple[float, str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint,
        )
        self.public_key = b64url(point)

    @classmethod
    def from_text(cls, text: str, subject: str = "") -> Vapid:
        return cls(load_private_key(text), subject or DEFAULT_SUBJECT)

    def authorization(self, endpoint: str, now: float | None = None) -> str:
        """`vapid t=<JWT>, k=<public key>` for a request to `endpoint`."""
        return self.authorization_for(origin_of(endpoint), now)

    def authorization_for(self, audience: str, now: float | None = None) -> str:
        """The same for a request to the origin `audience` (scheme://host[:port])."""
        now = time.time() if now is None else now
        cached = self._cache.get(audience)
        if cached is None or now - cached[0] > JWT_REFRESH:
            claims = {"aud": audience, "exp": int(now) + JWT_LIFETIME, "sub": self.subject}
            token = jwt.encode(claims, self.key, algorithm="ES256")
            cached = self._cache[audience] = (now, f"vapid t={token}, k={self.public_key}")
        return cached[1]


def print_new_keys() -> int:
    """`python -m scoreboard vapid-keys`: a key pair to pin in the environment."""
    key = load_private_key(generate_pem())
    print(f"SCOREBOARD_VAPID_PRIVATE_KEY={raw_private(key)}")
    print(f"# public key (GET /api/push/key serves it): {Vapid(key).public_key}")
    return 0
