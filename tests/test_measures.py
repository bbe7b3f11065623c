"""Named measures map to the recording rules that stack/ defines."""

from __future__ import annotations

import pytest
import yaml

from obsharness import measures
from obsharness.faults import FaultError, parse_fault
from obsharness.phrases import described_value
from tests.conftest import STACK


def test_every_measure_names_a_recording_rule_of_the_stack() -> None:
    rules = yaml.safe_load((STACK / "prometheus" / "rules" / "recording.yml").read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"]}
    assert set(measures.PER_SERVICE.values()) | set(measures.GLOBAL.values()) <= recorded


def test_label_values_are_escaped() -> None:
    assert measures.promql_for("CPU", 'a"b') == 'service:process_cpu_seconds:rate5m{service="a\\"b"}'


def test_unknown_measure_lists_the_known_ones() -> None:
    with pytest.raises(measures.UnknownMeasureError, match="known: request rate, error ratio"):
        measures.promql_for("latency", "flask-app")


@pytest.mark.parametrize(
    ("phrase", "settings"),
    [("errors of 10%", {"error_rate": 0.1}), ("a latency of 1500 ms", {"latency_ms": 1500}),
     ("a CPU burn of 95%", {"cpu_burn": 0.95}), ("a crash", {"crash": True}),
     ("scrape failures of 50%", {"scrape_failure_rate": 0.5})],
)
def test_fault_phrases(phrase: str, settings: dict[str, object]) -> None:
    assert parse_fault(phrase) == settings


def test_unknown_fault_phrase_says_what_is_understood() -> None:
    with pytest.raises(FaultError, match="say one of: 'errors of 10%'"):
        parse_fault("a flood")


def test_described_value() -> None:
    assert described_value("flask-app answered 68.75% of its scrapes over 5m") == 0.6875
    assert described_value("node-app's p95 latency is 2.45s (threshold 1s)") == 2.45
    assert described_value("no number here") is None
