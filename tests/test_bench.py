"""make bench on a machine without Loki: every other number, and the log latency as null
with the reason."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from obsharness import bench
from obsharness.errors import ComponentUnavailableError


def test_without_loki_the_log_latency_is_null_with_the_reason_and_how_to_get_it() -> None:
    missing = ComponentUnavailableError(component="loki", reason="binary 'loki' not found",
                                        how_to_get="download Loki's official release")
    # The stack handle as a run without Loki leaves it: Loki and the agents unavailable.
    stack = SimpleNamespace(unavailable={"loki": missing}, components=lambda: ["prometheus"])
    measured = bench.measure_log_latency(cast(Any, stack), lines=3)
    fields = bench.log_latency_fields(measured)
    assert fields["log_latency_s"] is None
    assert "loki is not available" in fields["log_latency_skipped"]
    assert "download Loki's official release" in fields["log_latency_skipped"]


def test_with_a_measurement_the_numbers_are_kept_and_no_reason_is_given() -> None:
    measured = {"p50": 0.3, "p95": 0.4, "n": 20, "agent": "promtail"}
    assert bench.log_latency_fields(measured) == {"log_latency_s": measured,
                                                  "log_latency_skipped": None}
