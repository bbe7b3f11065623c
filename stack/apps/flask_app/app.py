"""App 1 of the stack: a Flask service that is observable and fault-injectable.

- /metrics: http_requests_total{service,method,route,status} and the
  http_request_duration_seconds histogram (prometheus_client).
- stdout: one JSON line per request (ts, level, service, log_type, route, ...).
- /chaos: POST {"error_rate": 0.2, "latency_ms": 0}, DELETE, GET.
  error_rate is applied exactly, not randomly: with 0.2 every fifth business
  request fails, so an alert threshold can be tested without flakiness.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

SERVICE = os.environ.get("SERVICE_NAME", "flask-app")
BUSINESS_ROUTES = ("/", "/api/items")
CHAOS_LIMITS = {"error_rate": (0.0, 1.0), "latency_ms": (0, 60_000)}

REQUESTS = Counter(
    "http_requests_total", "HTTP requests served.", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency.", ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0),
)
# Series exist from the start at zero, so rate() sees the first error as an increase.
for _route in BUSINESS_ROUTES:
    for _status in ("200", "500"):
        REQUESTS.labels(SERVICE, "GET", _route, _status)
    LATENCY.labels(SERVICE, "GET", _route)


class Chaos:
    """Injected faults, shared by all request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.error_rate = 0.0
        self.latency_ms = 0
        self._debt = 0.0

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"error_rate": self.error_rate, "latency_ms": self.latency_ms}

    def update(self, changes: dict[str, Any]) -> None:
        with self._lock:
            if "error_rate" in changes:
                self.error_rate = float(changes["error_rate"])
                self._debt = 0.0
            if "latency_ms" in changes:
                self.latency_ms = int(changes["latency_ms"])

    def reset(self) -> None:
        self.update({"error_rate": 0.0, "latency_ms": 0})

    def next_request_fails(self) -> bool:
        with self._lock:
            self._debt += self.error_rate
            if self._debt >= 1.0 - 1e-9:
                self._debt -= 1.0
                return True
            return False


def validate_chaos(body: Any) -> dict[str, Any]:
    """Return the accepted changes or raise ValueError with a message for the client."""
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object such as {\"error_rate\": 0.2}")
    unknown = sorted(set(body) - set(CHAOS_LIMITS))
    if unknown:
        raise ValueError(f"unknown chaos field(s) {unknown}; known: {sorted(CHAOS_LIMITS)}")
    for key, value in body.items():
        low, high = CHAOS_LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number, got {value!r}")
        if not low <= value <= high:
            raise ValueError(f"{key} must be between {low} and {high}, got {value}")
    return body


def log(level: str, log_type: str, message: str, **fields: Any) -> None:
    record = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "service": SERVICE,
        "log_type": log_type,
        "message": message,
        **fields,
    }
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


app = Flask(__name__)
chaos = Chaos()


@app.before_request
def _start_timer() -> None:
    g.started = time.perf_counter()
    g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    if request.path in BUSINESS_ROUTES:
        delay = chaos.as_dict()["latency_ms"]
        if delay:
            time.sleep(delay / 1000)
        if chaos.next_request_fails():
            g.injected_error = True
            return _error_response()
    return None


def _error_response() -> Response:
    response = jsonify(error="injected failure", service=SERVICE)
    response.status_code = 500
    return response


@app.after_request
def _observe(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule else request.path
    if route == "/metrics":
        return response
    elapsed = time.perf_counter() - g.started
    status = str(response.status_code)
    REQUESTS.labels(SERVICE, request.method, route, status).inc()
    LATENCY.labels(SERVICE, request.method, route).observe(elapsed)
    response.headers["X-Request-ID"] = g.request_id
    fields = {
        "method": request.method, "route": route, "status": response.status_code,
        "duration_ms": round(elapsed * 1000, 2), "request_id": g.request_id,
    }
    log("info", "access", f"{request.method} {route} {status}", **fields)
    if response.status_code >= 500:
        log("error", "error", "request failed", **fields)
    return response


@app.get("/")
def index() -> Response:
    return jsonify(service=SERVICE, status="ok")


@app.get("/api/items")
def items() -> Response:
    return jsonify(items=[{"id": 1, "name": "alpha"}, {"id": 2, "name": "beta"}])


@app.get("/health")
def health() -> Response:
    return jsonify(status="ok", service=SERVICE)


@app.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


@app.route("/chaos", methods=["GET", "POST", "DELETE"])
def chaos_api() -> tuple[Response, int] | Response:
    if request.method == "POST":
        try:
            changes = validate_chaos(request.get_json(silent=True))
        except ValueError as exc:
            return jsonify(error=str(exc)), 400
        chaos.update(changes)
        log("warning", "security", "chaos changed", chaos=chaos.as_dict())
    elif request.method == "DELETE":
        chaos.reset()
        log("info", "security", "chaos cleared", chaos=chaos.as_dict())
    return jsonify(chaos.as_dict())


if __name__ == "__main__":  # local debugging only; deployments use gunicorn
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
