"""Turns between parallel workers: most scenarios share the machine, a few need it alone.

With pytest-xdist every worker runs its own stack, but they share the CPUs. A
scenario that must get a whole core (a CPU burn crossing HighCPU's threshold)
cannot prove anything while another worker's scenario competes for it: tagged
@exclusive, it takes an exclusive turn, waiting for the running scenarios to
end; no new one starts until it is done. Every other test takes a shared turn.

Idle stacks use CPU too (scrapes at a compressed interval): a worker that has
to wait for its turn freezes its own stack meanwhile (SIGSTOP, or `docker
pause`), and thaws it before its next scenario, which starts by waiting for
its stack to be quiet again. The exclusive scenario starts once every other
worker has frozen its stack or left.

Turns are fcntl locks on one file of the run, so a worker that dies releases
its turn with it. A gate taken before every turn gives a waiting exclusive
turn priority: new shared turns queue behind it instead of starving it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

_GATE, _TURN = 0, 1  # byte offsets of the two locks in the file
_BUSY = 16  # from here, one byte per worker: held while its stack is not frozen

WaitingContext = Callable[[], AbstractContextManager[object]]


class Turns:
    def __init__(self, path: Path, worker: int = 0, workers: int = 1) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.worker, self.workers = worker, workers
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._busy = False

    def close(self) -> None:
        os.close(self._fd)

    def _lock(self, kind: int, offset: int, length: int = 1) -> None:
        fcntl.lockf(self._fd, kind, length, offset, os.SEEK_SET)

    def _try(self, kind: int, offset: int) -> bool:
        try:
            self._lock(kind | fcntl.LOCK_NB, offset)
        except OSError:
            return False
        return True

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._lock(fcntl.LOCK_EX if busy else fcntl.LOCK_UN, _BUSY + self.worker)
            self._busy = busy

    @contextlib.contextmanager
    def _idle(self, while_waiting: WaitingContext | None) -> Iterator[None]:
        """Waiting: inside `while_waiting` (the stack frozen), and no longer busy."""
        with while_waiting() if while_waiting else contextlib.nullcontext():
            self._set_busy(False)
            try:
                yield
            finally:
                self._set_busy(True)

    def _take(self, kind: int, while_waiting: WaitingContext | None = None) -> None:
        with contextlib.ExitStack() as waiting:
            entered = False

            def wait_for(lock_kind: int, offset: int) -> None:
                nonlocal entered
                if self._try(lock_kind, offset):
                    return
                if not entered:
                    waiting.enter_context(self._idle(while_waiting))
                    entered = True
                self._lock(lock_kind, offset)

            wait_for(fcntl.LOCK_EX, _GATE)
            try:
                wait_for(kind, _TURN)
            finally:
                self._lock(fcntl.LOCK_UN, _GATE)

    def begin(self, exclusive: bool = False,
              while_waiting: WaitingContext | None = None) -> float:
        """A test starts: a shared turn, or an exclusive one that also waits for every
        other worker to be frozen or gone. Any wait happens inside `while_waiting` (this
        worker's stack frozen). Returns the seconds waited."""
        started = time.monotonic()
        self._set_busy(True)
        self._take(fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, while_waiting)
        if exclusive:
            # The others have ended their tests; wait until each has frozen its stack
            # (or left), then let go: they stay frozen until our turn ends.
            for low, high in ((0, self.worker), (self.worker + 1, self.workers)):
                if high > low:
                    self._lock(fcntl.LOCK_EX, _BUSY + low, high - low)
                    self._lock(fcntl.LOCK_UN, _BUSY + low, high - low)
        return time.monotonic() - started

    def end(self) -> None:
        self._lock(fcntl.LOCK_UN, _TURN)
