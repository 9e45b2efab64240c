"""What the benchmark reads from the kernel: a process's CPU and memory, fd limits, listen drops.

Everything is read from /proc so a figure describes the measured process alone, whatever else
shares the machine. Shared by the load generator, the deploy storm and the orchestrator.
"""
from __future__ import annotations

import os
import resource
import socket
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) of every thread of `pid`, in seconds (fields 14 and 15 of /proc/PID/stat).

    Kept apart because the floor is the kernel's `send()`: user time is what we can cut.
    """
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_s(pid: int) -> float:
    """utime + stime of every thread of `pid`, in seconds."""
    return sum(cpu_times(pid))


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raise_nofile(wanted: int = 0) -> int:
    """Raise this process's open-file limit (inherited by the servers it starts); returns it.

    The soft limit goes up to the hard one; the hard one too when `wanted` is above it and we
    may (root, or CAP_SYS_RESOURCE), up to the kernel's fs.nr_open. A limit still below
    `wanted` is the caller's to report: the run would fail with EMFILE half way.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if wanted > hard:
        ceiling = int(Path("/proc/sys/fs/nr_open").read_text()) if Path("/proc/sys/fs/nr_open").exists() else wanted
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, ceiling), min(wanted, ceiling)))
            return min(wanted, ceiling)
        except (ValueError, OSError):
            pass  # not allowed: keep what we have
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def nofile_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(values: Any, q: float) -> float | None:
    if not len(values):
        return None
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def loadavg() -> list[float]:
    """1, 5 and 15 minute load averages: above ~2 on two cores, something else shared them."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def listen_drops() -> dict[str, int]:
    """The kernel's ListenOverflows and ListenDrops counters (whole machine, since boot).

    A connection that arrives while a listener's accept queue (its backlog) is full is
    dropped and the client's SYN is retried a second later: the difference across a storm
    says whether reconnecting fans waited on the backlog rather than on the server's CPU.
    """
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return {}
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], (int(v) for v in values.split()[1:])))
            return {key: table.get(key, 0) for key in ("ListenOverflows", "ListenDrops")}
    return {}


def kernel_limits() -> dict[str, Any]:
    """The limits that bound how many connections one machine can open to itself."""
    def read(path: str) -> str:
        try:
            return Path(path).read_text().strip()
        except OSError:
            return "?"

    return {
        "somaxconn": read("/proc/sys/net/core/somaxconn"),
        "tcp_max_syn_backlog": read("/proc/sys/net/ipv4/tcp_max_syn_backlog"),
        "ip_local_port_range": read("/proc/sys/net/ipv4/ip_local_port_range").replace("\t", "-"),
        "nr_open": read("/proc/sys/fs/nr_open"),
        "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on host:port right now."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        try:
            sock.connect((host, port))
        except OSError:
            return False
        return True
