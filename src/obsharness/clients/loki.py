"""A small client of Loki's HTTP API (/loki/api/v1)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from obsharness.clients.http import APIError, JsonHTTP
from obsharness.report import evidence

# A line written is queryable after about 1.3 s with Promtail's default batchwait
# of 1 s (real runs); the deadline leaves room for a loaded machine.
INGEST_DEADLINE_S = 20.0


class LokiAPIError(APIError):
    """Loki refused a request or could not be reached."""


@dataclass(frozen=True)
class LogLine:
    labels: dict[str, str]
    ts_ns: int
    line: str

    def json(self) -> dict[str, Any]:
        """The line parsed as JSON (the apps log JSON), or {} if it is not."""
        try:
            parsed = json.loads(self.line)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}


class LokiClient(JsonHTTP):
    error = LokiAPIError

    def _data(self, path: str, **params: Any) -> Any:
        return self._success_data(f"/loki/api/v1{path}", **params)

    def ready(self) -> bool:
        response = self._request("GET", "/ready", check_status=False)
        return response.status_code == 200 and response.text.strip() == "ready"

    def push(self, labels: Mapping[str, str], lines: Sequence[str]) -> None:
        now = time.time_ns()
        values = [[str(now + i), line] for i, line in enumerate(lines)]
        self._request("POST", "/loki/api/v1/push",
                      json={"streams": [{"stream": dict(labels), "values": values}]})

    def query_range(self, logql: str, *, start_ns: int, end_ns: int | None = None,
                    limit: int = 5000, direction: str = "forward") -> list[LogLine]:
        """Log lines of a stream query, oldest first by default."""
        data = self._data("/query_range", query=logql, start=start_ns,
                          end=end_ns or time.time_ns(), limit=limit, direction=direction)
        if data["resultType"] != "streams":
            raise LokiAPIError(f"{logql!r} is a metric query; use metric() for it")
        lines = [LogLine(dict(s["stream"]), int(ts), line)
                 for s in data["result"] for ts, line in s["values"]]
        evidence.record("logql", logql, [{"labels": ln.labels, "line": ln.line} for ln in lines],
                        key=logql)
        return lines

    def result_size(self, logql: str, *, start_ns: int, limit: int = 100) -> int:
        """How much a log or metric query returns: lines of streams, or series of a matrix.

        For checks that a query shows something, whatever its kind (a dashboard's
        logs panel or its count_over_time graph).
        """
        data = self._data("/query_range", query=logql, start=start_ns, end=time.time_ns(),
                          limit=limit)
        result = data["result"]
        size = (sum(len(s["values"]) for s in result) if data["resultType"] == "streams"
                else len(result))
        evidence.record("logql", logql, {"resultType": data["resultType"], "size": size},
                        key=logql)
        return size

    def metric(self, logql: str, *, at_ns: int | None = None) -> float | None:
        """An instant metric query (e.g. sum(count_over_time(...))): its single value."""
        data = self._data("/query", query=logql, time=at_ns or time.time_ns())
        if data["resultType"] != "vector":
            raise LokiAPIError(f"{logql!r} returned {data['resultType']}, expected a vector")
        result = data["result"]
        return float(result[0]["value"][1]) if result else None

    def rule_groups(self) -> list[dict[str, Any]]:
        """The ruler's groups in Prometheus' format (each rule's health and lastError);
        Loki serves it under /prometheus/api/v1/rules."""
        data = self._success_data("/prometheus/api/v1/rules")
        groups = data.get("groups") if isinstance(data, dict) else None
        return [g for g in groups or [] if isinstance(g, dict)]

    def labels(self) -> list[str]:
        return list(self._data("/labels"))

    def label_values(self, name: str, query: str | None = None) -> list[str]:
        """A label's values, optionally of the streams a selector matches (`query`)."""
        params = {"query": query} if query else {}
        return list(self._data(f"/label/{name}/values", **params))

    def series(self, match: str, *, start_ns: int | None = None) -> list[dict[str, str]]:
        """Streams matching the selector; from `start_ns` on (Loki's default: the
        last hour, which holds earlier runs' streams too)."""
        params: dict[str, Any] = {"match[]": match}
        if start_ns is not None:
            params.update(start=start_ns, end=time.time_ns())
        return [dict(s) for s in self._data("/series", **params)]


def sent_labels(stream: dict[str, str]) -> dict[str, str]:
    """A stream's labels as the agent sent them: without Loki's own reserved ones
    (`__stream_shard__`, added when Loki shards a busy stream; `__time_shard__`)."""
    return {name: value for name, value in stream.items() if not name.startswith("__")}
