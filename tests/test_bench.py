"""make bench on a machine without Loki: every other number, and the log latency as null
with the reason."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from obsharness import bench
from obsharness.errors import ComponentUnavailableError
from tests.conftest import STACK


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


def test_the_sources_measure_reads_every_generated_rule_and_dashboard() -> None:
    from obsharness.bench_sources import measure_sources

    measured = measure_sources(STACK, resources=3, boards=2)
    # 3 PrometheusRules x 3 groups x 8 rules, beside the sample's own rule files.
    assert measured["rule_documents"] == 3
    assert measured["rules"] == 72
    assert measured["promtool_ok"] is True
    assert (measured["dashboards"], measured["dashboard_errors"]) == (5, 0)
    assert all(measured[k] >= 0 for k in ("rules_extract_s", "promtool_check_s",
                                          "dashboards_read_s", "dashboards_static_s"))


def test_a_replayed_pack_reaches_the_webhook_in_one_stack_run() -> None:
    from obsharness.bench_replay import measure_replay_pack

    measured = measure_replay_pack(STACK, 60, size=5)
    assert measured["alerts"] == 5
    assert 0 < measured["seconds"] < 60
