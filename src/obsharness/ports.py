"""Free ports on 127.0.0.1, and who holds a port that is taken."""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import tempfile
import threading
from pathlib import Path

LOOPBACK = "127.0.0.1"

# Ports handed out by this process. A port is never handed out twice: two
# components given the same port would fail on start, and the kernel may return
# a just-released port again from bind(0).
_handed_out: set[int] = set()
_lock = threading.Lock()
_FALLBACK_EPHEMERAL = (32768, 60999)


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux; default elsewhere)."""
    with contextlib.suppress(OSError, ValueError):
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    return _FALLBACK_EPHEMERAL


def _candidate_ranges() -> list[tuple[int, int]]:
    """Listening ports outside the ephemeral range, where no client connection lands."""
    low, high = ephemeral_range()
    ranges = [(r_low, r_high) for r_low, r_high in ((20000, low - 1), (high + 1, 65535))
              if r_high - r_low >= 1000]
    return ranges or [(low, high)]


class _Claims:
    """Ports claimed by any harness process of this user, across processes.

    Parallel workers (pytest-xdist) each start a stack: two of them could pick
    the same free port before either component binds it. Each claim is a
    one-byte lock at offset `port` of a shared file; the kernel drops a
    process's locks when it exits, however it exits, so no claim outlives its
    holder and nothing needs cleaning up.
    """

    fd: int | None = None
    opened = False

    @classmethod
    def claim(cls, port: int) -> bool:
        if not cls.opened:
            cls.opened = True
            path = Path(tempfile.gettempdir()) / f".obsharness-port-claims-{os.getuid()}"
            with contextlib.suppress(OSError):  # read-only /tmp: claims within this process only
                cls.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if cls.fd is None:
            return True
        try:
            fcntl.lockf(cls.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port, os.SEEK_SET)
        except OSError:
            return False  # another live harness process holds it
        return True


def free_port() -> int:
    """A port free on 127.0.0.1 right now, never handed out before by this process
    nor held by another harness process of this user.

    Chosen at random outside the ephemeral range: a port from bind(0) sits in
    that range, where any outgoing connection (a client of the stack, another
    test) can take it between this call and the server's own bind.
    """
    ranges = _candidate_ranges()
    with _lock:
        for _ in range(200):
            low, high = random.choice(ranges)
            port = random.randint(low, high)
            if port not in _handed_out and is_free(port) and _Claims.claim(port):
                _handed_out.add(port)
                return port
        # Crowded machine: let the kernel choose, still never twice.
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((LOOPBACK, 0))
                port = int(sock.getsockname()[1])
            if port not in _handed_out and _Claims.claim(port):
                _handed_out.add(port)
                return port


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Without SO_REUSEADDR a port in TIME_WAIT would count as taken;
        # servers we start set it too, so it is free for them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def holder_of(port: int) -> str | None:
    """Best effort: 'pid 123 (prometheus)' for a process listening on the port (Linux only)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    target = fd.readlink().as_posix()
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        name = (proc / "comm").read_text().strip()
                        return f"pid {proc.name} ({name})"
    return "another process"


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(inode)
    return inodes
