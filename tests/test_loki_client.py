"""LokiClient and the LogQL builder, against RecordedLoki.

RecordedLoki is a hand-written stand-in, allowed here only to unit-test the
client: it replays response shapes from Loki's HTTP API documentation. Log
scenarios never use it; they need a real Loki and skip without one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from obsharness import logql
from obsharness.clients.loki import LokiAPIError, LokiClient
from tests.helpers import local_http_server

LINE = ('{"ts": "2026-11-25T10:00:00.000+00:00", "level": "info", "service": "flask-app", '
        '"log_type": "access", "route": "/", "status": 200, "request_id": "abc"}')
RECORDED: dict[str, Any] = {
    "/loki/api/v1/query_range": {"status": "success", "data": {"resultType": "streams", "result": [
        {"stream": {"service": "flask-app", "level": "info", "log_type": "access"},
         "values": [["1764064800000000000", LINE]]}], "stats": {}}},
    "/loki/api/v1/query": {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1764064800, "120"]}], "stats": {}}},
    "/loki/api/v1/labels": {"status": "success", "data": ["level", "log_type", "service"]},
    "/loki/api/v1/label/service/values": {"status": "success",
                                          "data": ["fastapi-app", "flask-app", "node-app"]},
    "/loki/api/v1/series": {"status": "success", "data": [
        {"service": "flask-app", "level": "info", "log_type": "access"}]},
}


@pytest.fixture
def recorded_loki() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            seen.append({"path": parts.path, "params": parse_qs(parts.query)})
            if parts.path == "/ready":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ready\n")
                return
            payload = RECORDED.get(parts.path)
            self.send_response(200 if payload else 404)
            self.end_headers()
            self.wfile.write(json.dumps(payload or {}).encode() if payload else b"404 page not found")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            return

    with local_http_server(Handler) as url:
        yield url, seen


def test_queries_labels_and_series(recorded_loki: tuple[str, list[Any]]) -> None:
    url, seen = recorded_loki
    client = LokiClient(url)
    assert client.ready()
    lines = client.query_range(logql.selector(service="flask-app"), start_ns=1)
    assert lines[0].labels["log_type"] == "access"
    assert lines[0].json()["request_id"] == "abc"
    assert seen[-1]["params"]["query"] == ['{service="flask-app"}']
    assert client.metric(logql.count_over_time(logql.selector(service="flask-app"), "5m")) == 120
    assert client.labels() == ["level", "log_type", "service"]
    assert client.label_values("service") == ["fastapi-app", "flask-app", "node-app"]
    assert client.series('{service="flask-app"}')[0]["level"] == "info"
    assert seen[-1]["params"]["match[]"] == ['{service="flask-app"}']
    assert "start" not in seen[-1]["params"]
    client.series('{service="flask-app"}', start_ns=5)
    assert seen[-1]["params"]["start"] == ["5"]
    assert int(seen[-1]["params"]["end"][0]) > 5


def test_push_sends_the_documented_shape(recorded_loki: tuple[str, list[Any]]) -> None:
    url, seen = recorded_loki
    LokiClient(url).push({"job": "obsharness"}, ["one", "two"])
    stream = seen[-1]["body"]["streams"][0]
    assert stream["stream"] == {"job": "obsharness"}
    assert [v[1] for v in stream["values"]] == ["one", "two"]
    assert all(v[0].isdigit() and len(v[0]) >= 19 for v in stream["values"])  # ns strings


def test_errors_name_the_request(recorded_loki: tuple[str, list[Any]]) -> None:
    url, _ = recorded_loki
    with pytest.raises(LokiAPIError, match=r"/loki/api/v1/label/nope/values answered 404"):
        LokiClient(url).label_values("nope")
    with pytest.raises(LokiAPIError, match=r"/x/loki/api/v1/query_range answered 404"):
        LokiClient(url + "/x").query_range('{a="b"}', start_ns=1)


def test_logql_is_built_and_escaped() -> None:
    stream = logql.selector(service="flask-app", log_type="error")
    assert stream == '{service="flask-app", log_type="error"}'
    assert logql.contains(stream, 'say "hi"\\n') == (
        '{service="flask-app", log_type="error"} |= "say \\"hi\\"\\\\n"')
    assert logql.count_over_time(stream, "5m") == (
        'sum(count_over_time({service="flask-app", log_type="error"} [5m]))')
    with pytest.raises(ValueError, match="not a label name"):
        logql.selector(**{"bad-name": "x"})
    with pytest.raises(ValueError, match="not a LogQL range"):
        logql.count_over_time(stream, "5 minutes")


def test_a_sharded_streams_reserved_label_is_loki_s_not_the_pipelines() -> None:
    """Seen in a soak run: Loki 3.7 sharded the busy flask-app access stream and
    /series answered `__stream_shard__` beside the agent's labels."""
    from obsharness.clients.loki import sent_labels

    stream = {"service": "flask-app", "level": "info", "log_type": "access",
              "__stream_shard__": "1"}
    assert sent_labels(stream) == {"service": "flask-app", "level": "info",
                                   "log_type": "access"}
    # A label the pipeline should not send still shows.
    assert "filename" in sent_labels({**stream, "filename": "/var/log/x.log"})
