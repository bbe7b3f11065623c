"""A small client of the Prometheus HTTP API (/api/v1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obsharness.clients.http import APIError, JsonHTTP
from obsharness.report import evidence


class PrometheusAPIError(APIError):
    """Prometheus answered with status=error or an unexpected shape."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float
    timestamp: float


@dataclass(frozen=True)
class ActiveAlert:
    labels: dict[str, str]
    annotations: dict[str, str]
    state: str
    active_at: str
    value: str


class PrometheusClient(JsonHTTP):
    error = PrometheusAPIError

    def query(self, promql: str) -> list[Sample]:
        """Instant query returning a vector (scalars become one unlabelled sample)."""
        data = self._success_data("/api/v1/query", query=promql)
        kind, result = data["resultType"], data["result"]
        samples: list[Sample] | None = None
        if kind == "vector":
            samples = [
                Sample(item["metric"], float(item["value"][1]), float(item["value"][0]))
                for item in result
            ]
        elif kind == "scalar":
            samples = [Sample({}, float(result[1]), float(result[0]))]
        if samples is not None:
            evidence.record("promql", promql,
                            [{"labels": s.labels, "value": s.value} for s in samples], key=promql)
            return samples
        raise PrometheusAPIError(f"query {promql!r} returned a {kind}, expected a vector")

    def query_at(self, promql: str, moment: float) -> list[Sample]:
        """Instant query of a vector at a past moment (a replay's eval_time)."""
        data = self._success_data("/api/v1/query", query=promql, time=moment)
        if data["resultType"] != "vector":
            raise PrometheusAPIError(f"query {promql!r} returned a {data['resultType']}, "
                                     "expected a vector")
        return [Sample(item["metric"], float(item["value"][1]), float(item["value"][0]))
                for item in data["result"]]

    def raw_samples(self, selector: str) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        """The stored samples of a range selector (`up{job="x"}[5m]`), at their own
        scrape timestamps: what an instant query of a matrix returns."""
        data = self._success_data("/api/v1/query", query=selector)
        if data["resultType"] != "matrix":
            raise PrometheusAPIError(f"query {selector!r} returned a {data['resultType']}, "
                                     "expected a matrix")
        return [(item["metric"], [(float(t), float(v)) for t, v in item["values"]])
                for item in data["result"]]

    def query_range(
        self, promql: str, start: float, end: float, step: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        data = self._success_data("/api/v1/query_range", query=promql, start=start, end=end,
                                  step=step)
        return [
            (item["metric"], [(float(t), float(v)) for t, v in item["values"]])
            for item in data["result"]
        ]

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        """/api/v1/label/<label>/values, optionally of the series a selector matches."""
        params = {"match[]": match} if match else {}
        return [str(v) for v in self._success_data(f"/api/v1/label/{label}/values", **params)]

    def label_names(self, match: str | None = None) -> list[str]:
        params = {"match[]": match} if match else {}
        return [str(v) for v in self._success_data("/api/v1/labels", **params)]

    def alerts(self) -> list[ActiveAlert]:
        data = self._success_data("/api/v1/alerts")
        return [
            ActiveAlert(a["labels"], a.get("annotations", {}), a["state"],
                        a.get("activeAt", ""), a.get("value", ""))
            for a in data["alerts"]
        ]

    def targets(self) -> list[dict[str, Any]]:
        return list(self._success_data("/api/v1/targets", state="active")["activeTargets"])

    def rules(self) -> list[dict[str, Any]]:
        return list(self._success_data("/api/v1/rules")["groups"])
