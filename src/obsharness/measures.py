"""The architecture's metrics by name, read from the recording rules in stack/.

Scenarios say "p95 latency of fastapi-app"; this module knows that is
service:http_request_duration_seconds:p95_5m{service="fastapi-app"}. The
queries themselves live in stack/prometheus/rules/recording.yml, where a team
would keep them and where dashboards read them too.
"""

from __future__ import annotations

import math

from obsharness.clients.prometheus import PrometheusClient

PER_SERVICE: dict[str, str] = {
    "request rate": "service:http_requests:rate5m",
    "error ratio": "service:http_errors:ratio_rate5m",
    "p50 latency": "service:http_request_duration_seconds:p50_5m",
    "p95 latency": "service:http_request_duration_seconds:p95_5m",
    "p99 latency": "service:http_request_duration_seconds:p99_5m",
    "CPU": "service:process_cpu_seconds:rate5m",
    "memory": "service:process_resident_memory_bytes",
    "availability": "service:up:avg5m",
}
GLOBAL: dict[str, str] = {
    "end-to-end p95 latency": "global:e2e_request_duration_seconds:p95_5m",
    "availability": "global:http_availability:ratio_rate5m",
    "throughput": "global:http_requests:rate5m",
}


def label_value(value: str) -> str:
    """Quote a label value for a PromQL matcher (never glue user text in unescaped)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class UnknownMeasureError(KeyError):
    pass


def promql_for(measure: str, service: str | None = None) -> str:
    table = PER_SERVICE if service else GLOBAL
    if measure not in table:
        scope = f"per service ({service})" if service else "global"
        raise UnknownMeasureError(
            f"no {scope} measure called {measure!r}; known: {', '.join(table)}"
        )
    series = table[measure]
    return f"{series}{{service={label_value(service)}}}" if service else series


def read(prometheus: PrometheusClient, measure: str, service: str | None = None) -> float | None:
    """The current value, or None when Prometheus has none (or NaN: no samples in the window)."""
    samples = prometheus.query(promql_for(measure, service))
    if not samples:
        return None
    value = samples[0].value
    return None if math.isnan(value) else value
