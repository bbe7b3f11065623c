"""The report's per-alert proof table: for every alerting rule of the stack (Prometheus'
and Loki's), what proved it in this run — promtool unit tests, timing tables, end-to-end
scenarios, routing tables — and the mutation campaign's score on its mutants, each
with a link to the evidence."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsharness.report.results import RunResults, ScenarioResult

TIMING_STEP = "promtool sees exactly these alerts:"


def inventory(manifest: Any) -> list[dict[str, Any]]:
    """Every alerting rule with its origin and the promtool unit tests expecting it.
    Best effort: a source that cannot be read is the static stage's finding, not the
    report's."""
    from obsharness import loki_rules, origins, rule_files, rule_sources
    from obsharness.errors import ObsharnessError

    found: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="obsharness-proof-") as tmp:
        try:
            rule_set = rule_sources.rule_set(manifest, Path(tmp))
            files = [*rule_set.files, *loki_rules.files(manifest)]
            for path in files:
                for group in rule_files.groups(path):
                    for rule in group.get("rules") or []:
                        if rule.get("alert"):
                            found.append({"alert": str(rule["alert"]),
                                          "labels": {str(k): str(v) for k, v in
                                                     (rule.get("labels") or {}).items()},
                                          "file": origins.display(path).replace(
                                              str(manifest.stack_dir.parent) + "/", "")})
        except ObsharnessError:
            return found
        finally:
            origins.forget(Path(tmp))
    tests = _unit_tests(rule_sources.rule_test_files(manifest))
    for entry in found:
        entry["unit_tests"] = tests.get(entry["alert"], [])
    return found


def _unit_tests(test_files: list[Path]) -> dict[str, list[str]]:
    """alertname -> promtool test files whose alert_rule_test expects it to fire."""
    found: dict[str, list[str]] = {}
    for path in test_files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        for test in data.get("tests") or [] if isinstance(data, dict) else []:
            for case in (test.get("alert_rule_test") or []) if isinstance(test, dict) else []:
                if isinstance(case, dict) and case.get("exp_alerts"):
                    found.setdefault(str(case.get("alertname")), [])
                    if path.name not in found[str(case.get("alertname"))]:
                        found[str(case.get("alertname"))].append(path.name)
    return found


@dataclass
class AlertProof:
    alert: str
    file: str
    labels: dict[str, str] = field(default_factory=dict)
    unit_tests: list[str] = field(default_factory=list)
    timing_tables: list[ScenarioResult] = field(default_factory=list)
    end_to_end: list[ScenarioResult] = field(default_factory=list)
    routing: list[ScenarioResult] = field(default_factory=list)
    mutants: tuple[int, int] | None = None  # caught, judged

    @property
    def proven_end_to_end(self) -> bool:
        return any(s.outcome == "passed" for s in self.end_to_end)


def _mentions(scenario: ScenarioResult, alert: str) -> tuple[bool, bool, bool]:
    """(timing table, end to end, routing) that name the alert in a passed scenario."""
    # A notification of the alert reaching (or kept from) a receiver, by webhook or email.
    delivered = re.compile(rf"\b(?:firing|resolved|no) {re.escape(alert)} notification\b"
                           rf"|\bemail about {re.escape(alert)}\b")
    table = routing = e2e = False
    for step in scenario.steps:
        cells = [c for row in step.table for c in row]
        if step.text == TIMING_STEP and any(c.strip() == alert for c in cells):
            table = True
        if f"alertname={alert}" in step.text.replace(" ", "") or any(
                f"alertname={alert}" in c.replace(" ", "") for c in cells):
            routing = True
        if delivered.search(step.text):
            e2e = True
    return table, e2e, routing


def rows(results: RunResults, mutation: dict[str, Any] | None) -> list[AlertProof]:
    proofs = []
    for entry in results.alerts:
        proof = AlertProof(entry["alert"], entry.get("file", ""),
                           dict(entry.get("labels") or {}), list(entry.get("unit_tests") or []))
        for scenario in results.scenarios:
            table, e2e, routing = _mentions(scenario, proof.alert)
            if table:
                proof.timing_tables.append(scenario)
            if e2e:
                proof.end_to_end.append(scenario)
            if routing:
                proof.routing.append(scenario)
        if mutation:
            mine = [m for m in mutation.get("mutants") or []
                    if str(m.get("description", "")).startswith(f"{proof.alert}:")]
            judged = [m for m in mine if m.get("outcome") in
                      ("caught by validation", "caught by behaviour", "survived")]
            if judged:
                proof.mutants = (sum(1 for m in judged if str(m["outcome"]).startswith("caught")),
                                 len(judged))
        proofs.append(proof)
    return proofs
