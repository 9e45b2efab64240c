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
