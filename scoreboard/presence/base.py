"""The presence interface: where the instances of one service share their fans per match."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class PresenceUnavailable(Exception):
    """The shared counts could not be reached this time (Redis down): count locally for now."""


class Presence(Protocol):
    async def open(self) -> None:
        """Get ready; a shared store that is down now only fails the exchanges until it is back."""

    async def close(self) -> None:
        """Stop counting this instance's fans at once (a clean shutdown needs no TTL)."""

    async def exchange(self, local: Mapping[str, int]) -> dict[str, int]:
        """Publish this instance's fans per match id (replacing what it published before) and
        return the fans of every *other* live instance, summed per match id (none at 0).
        Raises PresenceUnavailable; cancelling is safe."""
