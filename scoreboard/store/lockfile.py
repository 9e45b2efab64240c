"""One process per SQLite file: an exclusive lock held for as long as the store is open.

The embedded store keeps each active match's log in memory and numbers events there, so a
second process on the same file would serve stale scores and collide on every seq (the UNIQUE
constraint answers 503 to each event). The lock (flock on `<db>.lock`, beside the file rather
than on it, so it never meets SQLite's own locks) makes the second process refuse to start,
naming the file and the process that holds it. The kernel releases the lock when the holder
exits, however it exits, so a crash never leaves the file locked.
"""
from __future__ import annotations

import errno
import fcntl
import os

from ..errors import StoreInUse


class FileLock:
    """An exclusive, non-blocking lock on `<path>.lock`, with the holder's pid written in it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock_path = f"{path}.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock; raises StoreInUse naming the process that holds it."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            who = f"process {holder}" if holder else "another process"
            raise StoreInUse(
                f"{self.path} is in use by {who} (another scoreboard serving it): stop that one, "
                "or give this one its own --db / SCOREBOARD_DB"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""
