"""The observability contract every Python sample app implements, in one place.

- Metrics: http_requests_total{service,method,route,status}, the
  http_request_duration_seconds histogram, app_active_users, and
  prometheus_client's process_* metrics (CPU, memory).
- Logs: one JSON object per line on stdout with ts, level, service,
  log_type (access | error | performance | security), route, status,
  duration_ms, request_id.
- Chaos: error_rate (exact, not random), latency_ms, cpu_burn (fraction of a
  core), scrape_failure_rate (share of /metrics answered 503, exact: a
  service that is partly down yet still serves), crash (exit the process);
  identical JSON in every app.
- Chaos is off unless CHAOS_TOKEN is set (deployments leave it unset: /chaos
  answers 404); with it, /chaos demands `Authorization: Bearer <token>` (403
  otherwise). The harness sets a new token per run.
- Login: POST /login; a failed login writes a security log line. The demo
  password comes from DEMO_PASSWORD; without it no login succeeds (there is
  no default credential).

The node app implements the same contract in JavaScript; tests/ checks all
apps with one parametrised suite.
"""

from __future__ import annotations

import hmac
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

CHAOS_LIMITS: dict[str, tuple[float, float]] = {
    "error_rate": (0.0, 1.0),
    "latency_ms": (0, 60_000),
    "cpu_burn": (0.0, 1.0),
    "scrape_failure_rate": (0.0, 1.0),
}
SLOW_REQUEST_MS = float(os.environ.get("SLOW_REQUEST_MS", "1000"))
ACTIVE_USER_WINDOW_S = float(os.environ.get("ACTIVE_USER_WINDOW_S", "300"))
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, service: str, business_routes: tuple[str, ...]) -> None:
        self.service = service
        self.requests = Counter("http_requests_total", "HTTP requests served.",
                                ["service", "method", "route", "status"])
        self.latency = Histogram("http_request_duration_seconds", "HTTP request latency.",
                                 ["service", "method", "route"], buckets=LATENCY_BUCKETS)
        self.failed_logins = Counter("app_failed_logins", "Failed login attempts.", ["service"])
        self.failed_logins.labels(service)
        self.active_users = Gauge("app_active_users",
                                  "Distinct users who logged in within the active window.",
                                  ["service"])
        # Series exist at zero from the start, so rate() sees the first error.
        for route in business_routes:
            for status in ("200", "500"):
                self.requests.labels(service, "GET", route, status)
            self.latency.labels(service, "GET", route)
        self.active_users.labels(service).set(0)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(self.service, method, route, str(status)).inc()
        self.latency.labels(self.service, method, route).observe(seconds)


class JsonLog:
    def __init__(self, service: str) -> None:
        self.service = service
        self._lock = threading.Lock()

    def write(self, level: str, log_type: str, message: str, **fields: Any) -> None:
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "service": self.service,
            "log_type": log_type,
            "message": message,
            **fields,
        }
        line = json.dumps(record) + "\n"
        with self._lock:
            sys.stdout.write(line)
            sys.stdout.flush()

    def request(self, *, method: str, route: str, status: int, duration_ms: float,
                request_id: str) -> None:
        """The access line for every request, plus error and performance lines when due."""
        fields = {"method": method, "route": route, "status": status,
                  "duration_ms": round(duration_ms, 2), "request_id": request_id}
        self.write("info", "access", f"{method} {route} {status}", **fields)
        if status >= 500:
            self.write("error", "error", f"{method} {route} failed with {status}", **fields)
        if duration_ms >= SLOW_REQUEST_MS:
            self.write("warning", "performance",
                       f"slow request: {duration_ms:.0f} ms >= {SLOW_REQUEST_MS:.0f} ms", **fields)


def validate_chaos(body: Any) -> dict[str, Any]:
    """The accepted changes, or ValueError with a message for the client."""
    if not isinstance(body, dict):
        raise ValueError('body must be a JSON object such as {"error_rate": 0.2}')
    known = [*CHAOS_LIMITS, "crash"]
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ValueError(f"unknown chaos field(s) {unknown}; known: {sorted(known)}")
    for key, value in body.items():
        if key == "crash":
            if value is not True:
                raise ValueError("crash must be true (it exits the process)")
            continue
        low, high = CHAOS_LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number, got {value!r}")
        if not low <= value <= high:
            raise ValueError(f"{key} must be between {low:g} and {high:g}, got {value}")
    return body


def _paced(debt: float, rate: float) -> tuple[float, bool]:
    """Exact pacing: of every 1/rate events, one fails (10% = every tenth), never at random."""
    debt += rate
    if debt >= 1.0 - 1e-9:
        return debt - 1.0, True
    return debt, False


class Chaos:
    """Injected faults, shared by all request threads."""

    def __init__(self, exit_process: Callable[[int], None] = os._exit) -> None:
        self._lock = threading.Lock()
        self.error_rate = 0.0
        self.latency_ms = 0
        self.cpu_burn = 0.0
        self.scrape_failure_rate = 0.0
        self._debt = 0.0
        self._scrape_debt = 0.0
        self._exit = exit_process
        self._burner: threading.Thread | None = None

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"error_rate": self.error_rate, "latency_ms": self.latency_ms,
                    "cpu_burn": self.cpu_burn, "scrape_failure_rate": self.scrape_failure_rate}

    def apply(self, changes: dict[str, Any]) -> None:
        with self._lock:
            if "error_rate" in changes:
                self.error_rate = float(changes["error_rate"])
                self._debt = 0.0
            if "latency_ms" in changes:
                self.latency_ms = int(changes["latency_ms"])
            if "cpu_burn" in changes:
                self.cpu_burn = float(changes["cpu_burn"])
            if "scrape_failure_rate" in changes:
                self.scrape_failure_rate = float(changes["scrape_failure_rate"])
                self._scrape_debt = 0.0
        if self.cpu_burn > 0 and (self._burner is None or not self._burner.is_alive()):
            self._burner = threading.Thread(target=self._burn, name="cpu-burn", daemon=True)
            self._burner.start()
        if changes.get("crash"):
            # Answer first, then exit hard as a crash would (no graceful shutdown).
            threading.Timer(0.1, self._exit, args=(3,)).start()

    def reset(self) -> None:
        self.apply({"error_rate": 0.0, "latency_ms": 0, "cpu_burn": 0.0,
                    "scrape_failure_rate": 0.0})

    def next_request_fails(self) -> bool:
        with self._lock:
            self._debt, fails = _paced(self._debt, self.error_rate)
            return fails

    def next_scrape_fails(self) -> bool:
        with self._lock:
            self._scrape_debt, fails = _paced(self._scrape_debt, self.scrape_failure_rate)
            return fails

    def _burn(self) -> None:
        """Use `cpu_burn` of a core, counted in this thread's CPU time: a wall-clock duty
        cycle gets less than asked on a busy machine (or behind the GIL), this one spins
        until it had its share. Accounted per 1 s window, so a pause (a frozen process)
        is not paid back in one long spin afterwards."""
        window_s, fraction = 1.0, -1.0
        wall0 = cpu0 = 0.0
        while True:
            wanted = self.cpu_burn
            if wanted <= 0:
                return
            wall, cpu = time.monotonic(), time.thread_time()
            if wanted != fraction or wall - wall0 >= window_s:
                fraction, wall0, cpu0 = wanted, wall, cpu
            owed = fraction * (wall - wall0) - (cpu - cpu0)
            if owed > 0:
                end = cpu + min(owed, 0.02)
                while time.thread_time() < end:
                    pass
            else:
                time.sleep(min(-owed / fraction, 0.05))


def chaos_refusal(authorization: str | None) -> tuple[int, str] | None:
    """(status, error) when this request may not use /chaos, None when it may."""
    token = os.environ.get("CHAOS_TOKEN", "")
    if not token:
        return 404, "the chaos API is off (set CHAOS_TOKEN to enable it)"
    offered = (authorization or "").removeprefix("Bearer ").strip()
    if not offered or not hmac.compare_digest(offered.encode(), token.encode()):
        return 403, "the chaos API needs 'Authorization: Bearer <CHAOS_TOKEN>'"
    return None


class Users:
    """Demo credentials and the active-users gauge."""

    def __init__(self, metrics: Metrics) -> None:
        self.username = os.environ.get("DEMO_USER", "demo")
        # No default: without DEMO_PASSWORD every login fails.
        self.password = os.environ.get("DEMO_PASSWORD") or None
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._metrics = metrics

    def login(self, body: Any) -> bool:
        if not isinstance(body, dict):
            self._metrics.failed_logins.labels(self._metrics.service).inc()
            return False
        user, password = str(body.get("username", "")), str(body.get("password", ""))
        ok = self.password is not None and hmac.compare_digest(
            user.encode(), self.username.encode()) and hmac.compare_digest(
            password.encode(), self.password.encode())
        if not ok:
            self._metrics.failed_logins.labels(self._metrics.service).inc()
        if ok:
            with self._lock:
                self._seen[user] = time.monotonic()
            self.refresh()
        return ok

    def refresh(self) -> None:
        cutoff = time.monotonic() - ACTIVE_USER_WINDOW_S
        with self._lock:
            self._seen = {u: t for u, t in self._seen.items() if t >= cutoff}
            count = len(self._seen)
        self._metrics.active_users.labels(self._metrics.service).set(count)
