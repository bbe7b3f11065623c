"""Rule unit tests written as tables: series in, expected alerts out, run by promtool.

A Gherkin table reads better than promtool's YAML, so scenarios can state
exact production timing as living documentation. The harness turns the table
into a promtool test file and runs `promtool test rules` on a copy of the
rules whose annotations are dropped: the table asserts when an alert fires
and with which labels; the annotations are proven by the handwritten tests
in stack/prometheus/tests/.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsharness import rule_files as rule_files_module
from obsharness import toolchecks
from obsharness.toolchecks import ToolResult


@dataclass(frozen=True)
class ExpectedAlert:
    at: str
    alertname: str
    labels: dict[str, str] | None  # None: no alert at that time


def parse_labels(text: str) -> dict[str, str] | None:
    """'severity=critical, service=flask-app' -> dict; '' or 'none' -> None (no alert)."""
    text = text.strip()
    if not text or text.lower() == "none":
        return None
    labels = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"expected label=value pairs, got {part!r} in {text!r}")
        name = name.strip()
        # A UTF-8 name may be written quoted, as Alertmanager's matchers quote it.
        if len(name) > 1 and name[0] == name[-1] == '"':
            name = name[1:-1]
        labels[name] = value.strip()
    return labels


def build_test_file(rule_files: Sequence[str], interval: str, series: Sequence[tuple[str, str]],
                    expected: Sequence[ExpectedAlert]) -> dict[str, Any]:
    tests: list[dict[str, Any]] = []
    for exp in expected:
        alerts = [] if exp.labels is None else [{"exp_labels": exp.labels}]
        tests.append({"eval_time": exp.at, "alertname": exp.alertname, "exp_alerts": alerts})
    return {
        "rule_files": list(rule_files),
        "evaluation_interval": interval,
        "tests": [{
            "interval": interval,
            "input_series": [{"series": s, "values": v} for s, v in series],
            "alert_rule_test": tests,
        }],
    }


def run_table(rule_files: Sequence[Path], interval: str, series: Sequence[tuple[str, str]],
              expected: Sequence[ExpectedAlert]) -> tuple[ToolResult, str]:
    """Run the table through promtool; returns the result and the generated test file.

    Each rule file stays a file of its own, as Prometheus loads them: two community files
    may share a group name, which Prometheus allows across files and not within one."""
    with tempfile.TemporaryDirectory(prefix="obsharness-ruletest-") as tmp:
        folder = Path(tmp)
        names = []
        for index, path in enumerate(rule_files):
            groups = rule_files_module.groups(path)
            for group in groups:
                for rule in group.get("rules") or []:
                    rule.pop("annotations", None)  # templates are not this table's subject
            names.append(f"rules{index:03d}.yml")
            (folder / names[-1]).write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        test_text = yaml.safe_dump(build_test_file(names, interval, series, expected),
                                   sort_keys=False)
        test_file = folder / "table.test.yml"
        test_file.write_text(test_text)
        return toolchecks.run_rule_tests([test_file]), test_text
