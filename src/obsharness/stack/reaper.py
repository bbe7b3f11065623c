"""Removes a run's containers when the harness dies without cleaning up (SIGKILL, OOM).

Ryuk does this for testcontainers, but its image cannot be pulled everywhere
the harness runs. The reaper is a small process of our own: started once per
harness process, in its own session (a Ctrl-C to the terminal's process group
must not take it down first), holding the read end of a pipe whose write end
only the harness holds. The kernel closes that pipe when the harness exits in
any way; the reaper then removes every container and network labelled with
the harness's pid, and exits. After a clean stop there is nothing left to
remove and it exits at once.

    python -m obsharness.stack.reaper PID
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

PID_LABEL = "io.obsharness.pid"

_lock = threading.Lock()
_reapers: dict[int, subprocess.Popen[bytes]] = {}  # harness pid -> its reaper


def ensure_reaper() -> int:
    """Start this process's reaper unless it runs already (idempotent, thread-safe);
    returns the reaper's pid."""
    with _lock:
        running = _reapers.get(os.getpid())
        if running is not None and running.poll() is None:
            return running.pid
        # The pipe's write end stays in this process only: Python's pipes are
        # not inheritable, so no component or container keeps it open.
        _reapers[os.getpid()] = running = subprocess.Popen(
            [sys.executable, "-m", "obsharness.stack.reaper", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, env=os.environ.copy())
        return running.pid


def remove_run_of(pid: int, client: Any = None) -> list[str]:
    """Remove the containers (with their volumes) and networks labelled with `pid`."""
    return remove_labelled(client, label=f"{PID_LABEL}={pid}")


def remove_labelled(client: Any, *, label: str,
                    spare: Callable[[dict[str, str]], bool] = lambda _: False) -> list[str]:
    """Remove the containers (with their volumes), then the networks, that carry
    `label` (`key` or `key=value`), except those whose labels `spare` accepts."""
    import docker

    client = client or docker.from_env(timeout=20)
    removed = []
    for container in client.containers.list(all=True, filters={"label": label}):
        if not spare(container.labels or {}):
            container.remove(force=True, v=True)
            removed.append(str(container.name))
    for network in client.networks.list(filters={"label": label}):
        if not spare(network.attrs.get("Labels") or {}):
            network.remove()
            removed.append(str(network.name))
    return removed


def main(argv: list[str]) -> int:
    pid = int(argv[0])
    sys.stdin.buffer.read()  # returns at EOF: the harness has exited, one way or another
    try:
        remove_run_of(pid)
    except Exception:  # noqa: BLE001 - the engine may be gone too; nothing else to do
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
