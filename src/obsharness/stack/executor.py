"""One local process: start it, know when it is ready, stop it for sure.

The child runs in its own process group with its output in a log file (never
an undrained pipe). Readiness is the component's own HTTP endpoint; if the
child exits while we wait, start-up fails at once with the end of its log.
On Linux the child also gets SIGTERM if the harness dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import requests

from obsharness.errors import ComponentDiedError, ComponentStartError, PortInUseError

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 16_384))
        text = handle.read().decode("utf-8", "replace")
    return "\n".join("    " + ln for ln in text.splitlines()[-lines:])


class ProcessExecutor:
    """Owns one child process of the stack."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        port: int,
        ready_url: str | None = None,
        ready_command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stop_timeout: float = 5.0,
        stop_signal: signal.Signals = signal.SIGTERM,
        user: str | None = None,
    ) -> None:
        if (ready_url is None) == (ready_command is None):
            raise ValueError(f"{name}: give exactly one of ready_url and ready_command")
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.ready_url = ready_url
        self.ready_command = list(ready_command) if ready_command else None
        self.port = port
        self.env = dict(env or {})
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.stop_signal = stop_signal
        self.user = user
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_after_s: float | None = None
        self._started_at = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def spawn(self) -> None:
        """Start the child (from the main thread: PDEATHSIG follows the forking thread)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self._started_at = time.monotonic()
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env={**os.environ, **self.env},
                start_new_session=True,  # own group: Ctrl-C goes to us, we stop it in order
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - spawned from the main thread only
                user=self.user,
            )
        except OSError as exc:
            raise ComponentStartError(
                component=self.name, reason=f"could not execute {self.argv[0]}: {exc}",
                log_path=None, log_tail="",
            ) from None
        finally:
            log.close()

    def poll_ready(self, session: requests.Session) -> bool:
        """One readiness probe; raises if the child has exited."""
        self._check_exited()
        if self.ready_command is not None:
            try:
                ready = subprocess.run(
                    self.ready_command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    timeout=2, check=False,
                ).returncode == 0
            except subprocess.TimeoutExpired:
                ready = False
        else:
            assert self.ready_url is not None
            try:
                ready = session.get(self.ready_url, timeout=1.0).status_code == 200
            except requests.RequestException:
                ready = False
        if ready:
            self.ready_after_s = time.monotonic() - self._started_at
        return ready

    @property
    def readiness(self) -> str:
        return self.ready_url or " ".join(self.ready_command or [])

    def _check_exited(self) -> None:
        assert self.process is not None, "spawn() first"
        code = self.process.poll()
        if code is None:
            return
        log_text = tail(self.log_path, 40)
        if "address already in use" in log_text.lower():
            raise PortInUseError(component=self.name, port=self.port)
        raise ComponentStartError(
            component=self.name,
            reason=f"exited with code {code} during start-up (command: {' '.join(self.argv)})",
            log_path=self.log_path,
            log_tail=tail(self.log_path),
        )

    def timeout_error(self, waited: float) -> ComponentStartError:
        return ComponentStartError(
            component=self.name,
            reason=f"not ready after {waited:.1f} s: {self.readiness} never succeeded",
            log_path=self.log_path,
            log_tail=tail(self.log_path),
        )

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise ComponentDiedError(
                component=self.name, returncode=self.process.returncode,
                log_tail=tail(self.log_path),
            )

    def stop(self) -> None:
        """SIGTERM the whole group, SIGKILL it after stop_timeout. Idempotent."""
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            self._signal_group(signal.SIGCONT)  # a frozen group would not see the SIGTERM
            self._signal_group(self.stop_signal)
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                proc.wait(self.stop_timeout)
        # Children of the child (gunicorn workers) share its group.
        self._signal_group(signal.SIGKILL)

    def kill(self) -> None:
        """Crash the component on purpose (a fault), without a graceful stop."""
        if self.process is not None and self.process.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.process.wait(self.stop_timeout)

    def freeze(self) -> None:
        """SIGSTOP the whole group: it keeps its state and uses no CPU until thaw()."""
        if self.process is not None and self.process.poll() is None:
            self._signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._signal_group(signal.SIGCONT)

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)
