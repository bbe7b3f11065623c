"""rules/*: rule files, their sources and their unit tests, judged by promtool; a
PrometheusRule that is no rule groups is named by the team's own file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checks.helpers import RULES, Break, add_source, assert_produces, edit


def _bad_prometheus_rule(stack: Path) -> None:
    (stack / "prometheus/team").mkdir()
    (stack / "prometheus/team/bad.yaml").write_text(
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\n"
        "spec: {groups: {name: g}}\n")
    add_source(stack, "rules", "prometheus/team/*.yaml")


BREAKS: dict[str, Break] = {
    "rules/invalid": lambda s: edit(s / RULES, "> 0.05", "> > 0.05"),
    "rules/source": _bad_prometheus_rule,
    "rules/lint": lambda s: (s / "prometheus/rules/dup.yml").write_text(
        "groups:\n  - name: dup\n    rules:\n"
        "      - {record: 'job:up:sum', expr: 'sum by (job) (up)'}\n"
        "      - {record: 'job:up:sum', expr: 'sum by (job) (up)'}\n"),
    "rules/unit-test": lambda s: edit(s / "prometheus/tests/alerts.test.yml",
                                      "severity: critical", "severity: page"),
}
NOT_HERE = {
    "rules/series-missing": "a live check of the running Prometheus, not of `obsharness "
                            "check`: produced in tests/test_rule_reach.py",
}


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_each_rules_check_names_its_file_in_promtools_words(
        check: str, stack_copy: Path) -> None:
    assert_produces(check, BREAKS[check], stack_copy)
