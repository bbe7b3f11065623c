"""App 1 of the stack: a Flask service, observable and fault-injectable.

The observability contract (metrics, JSON logs, chaos, login) lives in
../contract/obs_contract.py, shared with the FastAPI app.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

# The shared contract sits beside the apps (or at $CONTRACT_DIR in an image).
_CONTRACT = Path(__file__).resolve().parent.parent / "contract"
sys.path.insert(0, os.environ.get("CONTRACT_DIR", str(_CONTRACT)))
from obs_contract import (  # noqa: E402
    Chaos,
    JsonLog,
    Metrics,
    Users,
    chaos_refusal,
    validate_chaos,
)

SERVICE = os.environ.get("SERVICE_NAME", "flask-app")
BUSINESS_ROUTES = ("/", "/api/items")
UNTIMED = {"/metrics", "/chaos"}

metrics = Metrics(SERVICE, BUSINESS_ROUTES)
log = JsonLog(SERVICE)
chaos = Chaos()
users = Users(metrics)
app = Flask(__name__)


@app.before_request
def _before() -> Response | None:
    g.started = time.perf_counter()
    g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    if request.path in BUSINESS_ROUTES:
        delay = chaos.as_dict()["latency_ms"]
        if delay:
            time.sleep(delay / 1000)
        if chaos.next_request_fails():
            response = jsonify(error="injected failure", service=SERVICE)
            response.status_code = 500
            return response
    return None


@app.after_request
def _after(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule else "unmatched"
    response.headers["X-Request-ID"] = g.request_id
    if route in UNTIMED:
        return response
    elapsed = time.perf_counter() - g.started
    metrics.observe(request.method, route, response.status_code, elapsed)
    log.request(method=request.method, route=route, status=response.status_code,
                duration_ms=elapsed * 1000, request_id=g.request_id)
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
def metrics_endpoint() -> Response:
    if chaos.next_scrape_fails():
        return Response("scrape failure injected by chaos\n", status=503, mimetype="text/plain")
    users.refresh()
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


@app.post("/login")
def login() -> tuple[Response, int]:
    body = request.get_json(silent=True)
    if users.login(body):
        return jsonify(status="ok"), 200
    username = body.get("username") if isinstance(body, dict) else None
    log.write("warning", "security", "failed login", event="login_failed", username=username,
              route="/login", status=401, request_id=g.request_id,
              client=request.remote_addr)
    return jsonify(error="invalid credentials"), 401


@app.route("/chaos", methods=["GET", "POST", "DELETE"])
def chaos_api() -> tuple[Response, int]:
    refused = chaos_refusal(request.headers.get("Authorization"))
    if refused:
        return jsonify(error=refused[1]), refused[0]
    if request.method == "POST":
        try:
            changes = validate_chaos(request.get_json(silent=True))
        except ValueError as exc:
            return jsonify(error=str(exc)), 400
        chaos.apply(changes)
        log.write("warning", "security", "chaos changed", event="chaos", changes=changes,
                  request_id=g.request_id)
    elif request.method == "DELETE":
        chaos.reset()
        log.write("info", "security", "chaos cleared", event="chaos", request_id=g.request_id)
    return jsonify(chaos.as_dict()), 200


if __name__ == "__main__":  # local debugging only; deployments use gunicorn
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
