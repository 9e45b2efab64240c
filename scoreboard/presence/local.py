"""One process: its own hub is every fan there is."""
from __future__ import annotations

from collections.abc import Mapping


class LocalPresence:
    """Presence of a service that runs as one process (SQLite): no other instance."""

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def exchange(self, local: Mapping[str, int]) -> dict[str, int]:
        return {}
