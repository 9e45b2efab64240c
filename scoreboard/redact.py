"""Keep secrets out of the logs: API keys, the token secret and viewer tokens.

A filter on the log handlers rewrites each record before any formatter sees it: `token=...`
query values, `Bearer ...` credentials, anything shaped like a JWT, and the literal secrets
the app registered. Handlers, not loggers, carry it because a logger's filter does not apply
to records propagated from its children (aiohttp.access, aiohttp.server, ...).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "<redacted>"
_PATTERNS = [
    (re.compile(r"(?i)(token=)[^&\s\"']+"), r"\1" + MASK),
    (re.compile(r"(?i)(bearer\s+)[^\s\"',]+"), r"\1" + MASK),
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+"), MASK),
]
# LogRecord attributes that are not `extra=` fields; everything else a string may carry a secret.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(text: str, literals: Iterable[str] = ()) -> str:
    for literal in literals:
        if literal and literal in text:
            text = text.replace(literal, MASK)
    if not _may_match(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _may_match(text: str) -> bool:
    """False only if no pattern can match: nearly every log string, found in well under 1 µs.

    Each pattern needs `token=` or `bearer` (any case) or `eyJ`; three regex passes cost ~4 µs
    per string, and an access line carries five strings. Non-ASCII text goes to the patterns
    themselves: their (?i) folds some non-ASCII letters onto ASCII ones (KELVIN SIGN onto k),
    which `str.lower` need not mirror.
    """
    if not text.isascii() or "eyJ" in text:
        return True
    lowered = text.lower()
    return "token=" in lowered or "bearer" in lowered


class SecretFilter(logging.Filter):
    """Rewrites records in place; never drops one."""

    def __init__(self) -> None:
        super().__init__()
        self._literals: set[str] = set()
        self._longest_first: list[str] = []  # longest first: no partial masks

    def protect(self, secrets: Iterable[str]) -> None:
        # Short values would mask ordinary words; real keys and secrets are longer.
        self._literals.update(s for s in secrets if len(s) >= 6)
        self._longest_first = sorted(self._literals, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        literals = self._longest_first
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the formatter's to report
            return True
        # The message is kept formatted either way, so the formatter does not format it again.
        record.msg, record.args = redact(message, literals), None
        fields = vars(record)
        for name in fields.keys() - _STANDARD:  # the `extra=` fields only
            value = fields[name]
            if isinstance(value, str):
                cleaned = redact(value, literals)
                if cleaned is not value:
                    fields[name] = cleaned
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), literals)
        return True


SECRET_FILTER = SecretFilter()


def protect(secrets: Iterable[str]) -> None:
    """Mask these literal values and put the filter on every handler of the root logger."""
    SECRET_FILTER.protect(secrets)
    for handler in logging.getLogger().handlers:
        if SECRET_FILTER not in handler.filters:
            handler.addFilter(SECRET_FILTER)
