"""The pipe between the server and its sender process: length-prefixed pickles.

Pickle because both ends are this package in processes we started ourselves (never a socket
anyone else can reach), and it moves a 500-subscription batch in ~0.1 ms where JSON would
need the keys re-encoded.
"""
from __future__ import annotations

import asyncio
import pickle
import struct
from dataclasses import dataclass
from typing import Any

HEADER = struct.Struct("!I")


@dataclass(frozen=True)
class SenderConfig:
    """What a sender needs to know; sent to the process first."""

    vapid_key: str  # PEM
    vapid_subject: str
    allow_private: bool
    concurrency: int
    log_level: str = "info"
    log_format: str = "text"
    nice: int = 10


def encode(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


async def read_message(reader: asyncio.StreamReader) -> Any:
    """The next message; raises asyncio.IncompleteReadError at the end of the pipe."""
    size = HEADER.unpack(await reader.readexactly(HEADER.size))[0]
    return pickle.loads(await reader.readexactly(size))
