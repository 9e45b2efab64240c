"""The listening socket's accept queue is as deep as the kernel allows (issue 14): a deploy's
reconnect storm sends thousands of SYNs a second, and with aiohttp's default of 128 the kernel
drops the overflow, each dropped fan then waiting a one-second SYN retransmit."""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoreboard.listener import BACKLOG_FALLBACK, listen_backlog
from support import ServerProcess, free_port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    served = ServerProcess(port=free_port(), db=tmp_path / "backlog.db")
    served.start()
    yield served
    served.stop()


def test_backlog_follows_the_kernel_cap(tmp_path: Path) -> None:
    """The backlog asked for is net.core.somaxconn, or 4096 where it cannot be read."""
    cap = tmp_path / "somaxconn"
    cap.write_text("8192\n")
    assert listen_backlog(str(cap)) == 8192
    assert listen_backlog(str(tmp_path / "missing")) == BACKLOG_FALLBACK == 4096
    cap.write_text("not a number")
    assert listen_backlog(str(cap)) == BACKLOG_FALLBACK


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss(8) to read a listener's backlog")
def test_the_running_service_listens_with_the_kernel_backlog(server: ServerProcess) -> None:
    """`ss` shows the real process's listening socket with the kernel's cap as its backlog."""
    shown = subprocess.run(
        ["ss", "-ltnH", f"sport = :{server.port}"], capture_output=True, text=True, check=True,
    ).stdout.split()
    # State Recv-Q Send-Q Local Peer; on a listener Send-Q is the backlog.
    assert shown and shown[0] == "LISTEN", shown
    assert int(shown[2]) == listen_backlog() > 128
