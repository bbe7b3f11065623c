"""GrafanaClient against a recorded stand-in of Grafana's HTTP API.

RecordedGrafana is a hand-written stand-in, allowed here only to unit-test the
client: it replays response shapes from Grafana's HTTP API documentation
(/api/health, datasource health, search, dashboards, /api/ds/query). It is never
used by a scenario; those need real Grafana and skip without it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from obsharness.clients.grafana import GrafanaAPIError, GrafanaClient
from tests.helpers import local_http_server

RECORDED: dict[tuple[str, str], Any] = {
    ("GET", "/api/health"): {"commit": "087143285", "database": "ok", "version": "13.0.1"},
    ("GET", "/api/datasources"): [
        {"id": 1, "uid": "prometheus", "name": "Prometheus", "type": "prometheus",
         "url": "http://prometheus:9090", "access": "proxy", "isDefault": True},
        {"id": 2, "uid": "loki", "name": "Loki", "type": "loki", "url": "http://loki:3100",
         "access": "proxy", "isDefault": False},
    ],
    ("GET", "/api/datasources/uid/prometheus/health"): {
        "status": "OK", "message": "Successfully queried the Prometheus API."},
    ("GET", "/api/search"): [
        {"id": 3, "uid": "obs-system", "title": "System", "type": "dash-db",
         "folderTitle": "Observability", "tags": ["obsharness"]},
    ],
    ("GET", "/api/dashboards/uid/obs-system"): {
        "meta": {"type": "db", "provisioned": True},
        "dashboard": {"uid": "obs-system", "title": "System", "panels": [{"id": 1}]},
    },
    ("POST", "/api/ds/query"): {"results": {"A": {"status": 200, "frames": [{
        "schema": {"refId": "A", "fields": [{"name": "Time", "type": "time"},
                                            {"name": "Value", "type": "number"}]},
        "data": {"values": [[1700000000000, 1700000015000], [0.12, 0.15]]},
    }]}}},
}
USER, PASSWORD = "obsharness", "s3cret-from-env"


@pytest.fixture
def recorded_grafana() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                self.wfile.write(b'{"message":"invalid username or password"}')
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            path = self.path.split("?", 1)[0]
            seen.append({"method": method, "path": self.path, "body": body})
            payload = RECORDED.get((method, path))
            self.send_response(200 if payload is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(payload or {"message": "Not found"}).encode())

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, *_: Any) -> None:
            return

    with local_http_server(Handler) as url:
        yield url, seen


def test_health_datasources_and_dashboards(recorded_grafana: tuple[str, list[Any]]) -> None:
    url, seen = recorded_grafana
    client = GrafanaClient(url, user=USER, password=PASSWORD)
    assert client.health()["database"] == "ok"
    assert [d["uid"] for d in client.datasources()] == ["prometheus", "loki"]
    assert client.datasource_health("prometheus") == (
        "OK", "Successfully queried the Prometheus API.")
    assert client.search_dashboards()[0]["uid"] == "obs-system"
    assert client.dashboard("obs-system")["title"] == "System"
    assert seen[3]["path"] == "/api/search?type=dash-db"


def test_query_counts_frames_and_rows(recorded_grafana: tuple[str, list[Any]]) -> None:
    url, seen = recorded_grafana
    result = GrafanaClient(url, user=USER, password=PASSWORD).query("prometheus", "up")
    assert (result.status, result.frames, result.rows, result.error) == (200, 1, 2, None)
    assert seen[-1]["body"]["queries"][0] == {
        "refId": "A", "datasource": {"uid": "prometheus"}, "expr": "up",
        "intervalMs": 15000, "maxDataPoints": 100}


def test_errors_name_the_url_and_status(recorded_grafana: tuple[str, list[Any]]) -> None:
    url, _ = recorded_grafana
    with pytest.raises(GrafanaAPIError, match=r"GET .*/api/health answered 401"):
        GrafanaClient(url, user="admin", password="admin").health()
    with pytest.raises(GrafanaAPIError, match=r"datasources/uid/nope/health answered 404"):
        GrafanaClient(url, user=USER, password=PASSWORD).datasource_health("nope")
