"""The WebSocket close codes this service sends or reports, in one place.

Values and names follow RFC 6455 section 7.4.1 and the IANA registry (as wsproto's
`CloseReason` does). The browser client (static/live.js) acts on them: after 1012, 1001 or 1013
it reconnects after a jittered pause (every fan is closed at once, or the server is overloaded)
and retries soon while the server is not back; after 1008 with a fresh viewer token; after
anything else with capped backoff. It always resumes with since.
A code a client sends us is passed through as a plain int: it need not be one of these.
"""
from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001  # the server stops (SIGINT, a shutdown that is not a restart)
    ABNORMAL_CLOSURE = 1006  # never sent: the connection ended without a closing handshake
    POLICY_VIOLATION = 1008  # a refused token, a missing auth message, an expired grant, idleness
    MESSAGE_TOO_BIG = 1009  # a client message over max_ws_message_bytes
    INTERNAL_ERROR = 1011  # our fault: reconnect
    SERVICE_RESTART = 1012  # SIGTERM (a deploy): reconnect to the next instance
    TRY_AGAIN_LATER = 1013  # a slow consumer cut off, or the store overloaded: resume with since after a pause
