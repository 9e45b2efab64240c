"""RFC 6455 framing of what the server sends: the one place frames are built.

An event's frame is built once, on first use, and kept on the `Frame` (frames.py), so every
fan is written the very same bytes. No extension is ever agreed (handshake.py), so these are
the bytes wsproto would frame for the same message (tests/test_websocket_protocol.py).
"""
from __future__ import annotations

import struct

from ...frames import Frame


def websocket_bytes(frame: Frame) -> bytes:
    """`frame.text` as one whole text frame, built on first use and kept on the frame."""
    wire = frame.wire
    if wire is None:
        wire = websocket_text_frame(frame.text.encode())
        object.__setattr__(frame, "wire", wire)  # frozen: a cache, not a change of value
    return wire


# Messages many fans are sent alike (a snapshot, or an event sent from a catch-up or a queue),
# framed once: keyed by the text itself (a str caches its hash, and the same text object
# comes for every fan, so a lookup is one identity check). Bounded: emptied when full.
_FRAMED: dict[str, bytes] = {}
FRAMED_MAX = 256


def shared_text_frame(text: str) -> bytes:
    """`text` as a text frame, built once for all the fans it goes to (see _FRAMED)."""
    wire = _FRAMED.get(text)
    if wire is None:
        if len(_FRAMED) >= FRAMED_MAX:
            _FRAMED.clear()
        wire = _FRAMED[text] = websocket_text_frame(text.encode())
    return wire


def websocket_text_frame(payload: bytes) -> bytes:
    """FIN + text opcode, no RSV bits (no extension is negotiated), no mask (server side)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload
