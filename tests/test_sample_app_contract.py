"""The sample apps' shared contract: metrics, JSON logs, chaos API (Flask app for now)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from prometheus_client import REGISTRY

APP_DIR = Path(__file__).resolve().parents[1] / "stack" / "apps" / "flask_app"


@pytest.fixture(scope="module")
def flask_module() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("flask_sample_app", APP_DIR / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["flask_sample_app"] = module
    spec.loader.exec_module(module)
    yield module
    for collector in (module.REQUESTS, module.LATENCY):
        REGISTRY.unregister(collector)


@pytest.fixture
def client(flask_module: ModuleType) -> Iterator[Any]:
    flask_module.chaos.reset()
    with flask_module.app.test_client() as test_client:
        yield test_client
    flask_module.chaos.reset()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error_rate": 1.5}, "error_rate must be between 0.0 and 1.0, got 1.5"),
        ({"latency_ms": -1}, "latency_ms must be between 0 and 60000"),
        ({"eror_rate": 0.2}, "unknown chaos field(s) ['eror_rate']"),
        ({"error_rate": "high"}, "error_rate must be a number"),
        ([1, 2], "body must be a JSON object"),
    ],
)
def test_bad_chaos_is_refused_with_400(client: Any, body: object, message: str) -> None:
    response = client.post("/chaos", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_error_rate_is_applied_exactly(client: Any) -> None:
    assert client.post("/chaos", json={"error_rate": 0.2}).status_code == 200
    statuses = [client.get("/api/items").status_code for _ in range(50)]
    assert statuses.count(500) == 10
    assert client.get("/health").status_code == 200
    assert client.delete("/chaos").get_json() == {"error_rate": 0.0, "latency_ms": 0}
    assert all(client.get("/").status_code == 200 for _ in range(10))


def test_metrics_and_json_access_log(client: Any, capsys: pytest.CaptureFixture[str]) -> None:
    client.get("/api/items", headers={"X-Request-ID": "req-42"})
    body = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="GET",route="/api/items",service="flask-app",status="200"}' in body
    # Error series exist at zero before any error, so rate() sees the first one.
    assert 'http_requests_total{method="GET",route="/",service="flask-app",status="500"} 0.0' in body
    assert "http_request_duration_seconds_bucket" in body
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")]
    access = [ln for ln in lines if ln["request_id"] == "req-42"]
    assert access, lines
    assert {"ts", "level", "service", "log_type", "route", "status", "duration_ms"} <= set(access[0])
    assert access[0]["log_type"] == "access"
    assert access[0]["service"] == "flask-app"
