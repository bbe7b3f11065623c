"""PromQL the harness itself asks, built from parameters (never from glued user text)."""

from __future__ import annotations

from obsharness.timing import format_duration


def label_value(value: str) -> str:
    """Quote a label value for a PromQL matcher."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def error_ratio(service: str, window_ms: int) -> str:
    """Share of 5xx responses of one service over a window, as the alert rule computes it."""
    svc = label_value(service)
    window = format_duration(window_ms)
    return (
        f'sum(rate(http_requests_total{{service={svc},status=~"5.."}}[{window}]))'
        f" / sum(rate(http_requests_total{{service={svc}}}[{window}]))"
    )
