"""Small assertions shared by the tests that start real processes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def assert_all_gone(pids: Iterable[int], timeout: float = 10.0) -> None:
    """Every process group led by these pids has exited (children included)."""
    pids = list(pids)
    assert pids, "no pid to check: the test did not see the stack start"
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if group_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in pids if group_alive(p)]
    assert not alive, f"process groups still alive after teardown: {alive}"
