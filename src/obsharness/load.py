"""Traffic generator: steady requests to an app at a chosen rate, bounded in time.

Only loopback addresses are accepted: the harness never sends load elsewhere.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from obsharness.errors import ComponentUnavailableError, ObsharnessError

MAX_RATE_PER_S = 500.0
DEFAULT_MAX_DURATION_S = 900.0


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise ObsharnessError(
            f"traffic generator refuses {url}: load is only sent to loopback addresses"
        )


@dataclass
class TrafficStats:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0  # connection errors, timeouts


class TrafficGenerator:
    """Sends GET requests round-robin over `paths` at `rate_per_s` until stopped."""

    def __init__(
        self,
        base_url: str,
        *,
        rate_per_s: float,
        paths: tuple[str, ...] = ("/", "/api/items"),
        max_duration_s: float = DEFAULT_MAX_DURATION_S,
        timeout_s: float = 5.0,
    ) -> None:
        _check_loopback(base_url)
        if not 0 < rate_per_s <= MAX_RATE_PER_S:
            raise ValueError(f"rate must be in (0, {MAX_RATE_PER_S}] requests/s, got {rate_per_s}")
        self.base_url = base_url.rstrip("/")
        self.rate_per_s = rate_per_s
        self.paths = paths
        self.max_duration_s = max_duration_s
        self.timeout_s = timeout_s
        self.stats = TrafficStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def start(self) -> TrafficGenerator:
        self._thread.start()
        return self

    def stop(self) -> TrafficStats:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.timeout_s + 1)
        return self.stats

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        period = 1.0 / self.rate_per_s
        began = time.monotonic()
        next_at = began
        index = 0
        with requests.Session() as session:
            while not self._stop.is_set():
                now = time.monotonic()
                if now - began > self.max_duration_s:
                    break  # bounded even if nobody calls stop()
                if now < next_at:
                    self._stop.wait(next_at - now)
                    continue
                path = self.paths[index % len(self.paths)]
                index += 1
                try:
                    response = session.get(self.base_url + path, timeout=self.timeout_s)
                    self.stats.statuses[response.status_code] += 1
                except requests.RequestException:
                    self.stats.failures += 1
                self.stats.sent += 1
                # Fixed schedule, no catch-up bursts after a slow request.
                next_at = max(next_at + period, time.monotonic() - period)


_BUSY = """
import time
wall, cpu = time.monotonic(), time.process_time()
while time.monotonic() - wall < {seconds}:
    pass
print((time.process_time() - cpu) / (time.monotonic() - wall))
"""


def core_share(seconds: float = 0.5) -> float:
    """The fraction of one core a busy process gets right now (about 1.0 on an idle
    machine; less under hypervisor steal or other load). Its own process, so the
    harness's threads and their GIL do not count against it."""
    done = subprocess.run([sys.executable, "-c", _BUSY.format(seconds=seconds)],
                          capture_output=True, text=True, timeout=30, check=True)
    return float(done.stdout.strip())


def require_core_share(needed: float, *, purpose: str) -> float:
    """Raise ComponentUnavailableError when this machine cannot give one process
    `needed` of a core: a CPU threshold cannot be crossed, and no wait can change that."""
    share = max(core_share(), core_share())  # the better of two samples: a hiccup is not a verdict
    if share < needed:
        raise ComponentUnavailableError(
            component="a free CPU core", reason=(
                f"a busy process gets only {share:.0%} of a core on this machine right now "
                f"(hypervisor steal or other load), below the {needed:.0%} that {purpose} needs"),
            how_to_get="run on a machine with a core to spare (the nightly gate does)")
    return share
