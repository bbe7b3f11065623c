"""App 3 of the stack: the API of the practical case (FastAPI + PostgreSQL).

Frontend (React, served by node-app) -> node-app /api/* -> this API -> PostgreSQL.
When the database is unreachable the API answers 503 and logs an error line,
and recovers on its own when the database comes back.
The observability contract lives in ../contract/obs_contract.py.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
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

SERVICE = os.environ.get("SERVICE_NAME", "fastapi-app")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://app:app@postgres:5432/app")
BUSINESS_ROUTES = ("/", "/api/items")
UNTIMED = {"/metrics", "/chaos"}
SEED = ("alpha", "beta", "gamma")

metrics = Metrics(SERVICE, BUSINESS_ROUTES)
log = JsonLog(SERVICE)
chaos = Chaos()
users = Users(metrics)
app = FastAPI(title=SERVICE, docs_url=None, redoc_url=None)

class _Schema:
    ready = False  # created on the first connection that succeeds


class DatabaseDown(Exception):
    pass


def _connect() -> psycopg.Connection[Any]:
    try:
        conn = psycopg.connect(DATABASE_URL, connect_timeout=2, autocommit=True)
    except psycopg.OperationalError as exc:
        raise DatabaseDown(str(exc).strip().splitlines()[0]) from exc
    if not _Schema.ready:
        conn.execute("CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL)")
        if conn.execute("SELECT count(*) FROM items").fetchone() == (0,):
            for name in SEED:
                conn.execute("INSERT INTO items (name) VALUES (%s)", (name,))
        _Schema.ready = True
    return conn


@app.middleware("http")
async def observe(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    request.state.request_id = request_id
    response: Response
    if request.url.path in BUSINESS_ROUTES and request.method == "GET":
        delay = chaos.as_dict()["latency_ms"]
        if delay:
            await asyncio.sleep(delay / 1000)
    if request.url.path in BUSINESS_ROUTES and chaos.next_request_fails():
        response = JSONResponse({"error": "injected failure", "service": SERVICE}, status_code=500)
    else:
        response = await call_next(request)
    route_obj = request.scope.get("route")
    route = getattr(route_obj, "path", None) or "unmatched"
    response.headers["X-Request-ID"] = request_id
    if route not in UNTIMED:
        elapsed = time.perf_counter() - started
        metrics.observe(request.method, route, response.status_code, elapsed)
        log.request(method=request.method, route=route, status=response.status_code,
                    duration_ms=elapsed * 1000, request_id=request_id)
    return response


def _db_error(request: Request, exc: DatabaseDown) -> JSONResponse:
    log.write("error", "error", "database unavailable", route=request.url.path, status=503,
              request_id=request.state.request_id, error=str(exc))
    return JSONResponse({"error": "database unavailable"}, status_code=503)


@app.get("/")
def index() -> dict[str, str]:
    return {"service": SERVICE, "status": "ok"}


@app.get("/api/items")
def list_items(request: Request) -> Any:
    try:
        with _connect() as conn:
            rows = conn.execute("SELECT id, name FROM items ORDER BY id").fetchall()
    except DatabaseDown as exc:
        return _db_error(request, exc)
    return {"items": [{"id": r[0], "name": r[1]} for r in rows], "source": "postgresql"}


@app.post("/api/items")
async def create_item(request: Request) -> Any:
    body = await request.json()
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        return JSONResponse({"error": "name must be a non-empty string"}, status_code=400)
    try:
        with _connect() as conn:
            row = conn.execute("INSERT INTO items (name) VALUES (%s) RETURNING id",
                               (name,)).fetchone()
    except DatabaseDown as exc:
        return _db_error(request, exc)
    return JSONResponse({"id": row[0] if row else None, "name": name}, status_code=201)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "service": SERVICE}


@app.get("/metrics")
def metrics_endpoint() -> Response:
    if chaos.next_scrape_fails():
        return Response("scrape failure injected by chaos\n", status_code=503,
                        media_type="text/plain")
    users.refresh()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@app.post("/login")
async def login(request: Request) -> JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if users.login(body):
        return JSONResponse({"status": "ok"})
    username = body.get("username") if isinstance(body, dict) else None
    log.write("warning", "security", "failed login", event="login_failed", username=username,
              route="/login", status=401, request_id=request.state.request_id,
              client=request.client.host if request.client else None)
    return JSONResponse({"error": "invalid credentials"}, status_code=401)


@app.api_route("/chaos", methods=["GET", "POST", "DELETE"])
async def chaos_api(request: Request) -> JSONResponse:
    refused = chaos_refusal(request.headers.get("authorization"))
    if refused:
        return JSONResponse({"error": refused[1]}, status_code=refused[0])
    if request.method == "POST":
        try:
            changes = validate_chaos(await request.json())
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        chaos.apply(changes)
        log.write("warning", "security", "chaos changed", event="chaos", changes=changes,
                  request_id=request.state.request_id)
    elif request.method == "DELETE":
        chaos.reset()
        log.write("info", "security", "chaos cleared", event="chaos",
                  request_id=request.state.request_id)
    return JSONResponse(chaos.as_dict())
