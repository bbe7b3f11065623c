"""Small assertions shared by the tests that start real processes."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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


@contextlib.contextmanager
def local_http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free 127.0.0.1 port for the duration; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
