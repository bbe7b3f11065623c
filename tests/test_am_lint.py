"""Alertmanager mistakes amtool accepts, each with its file and line; no false
alarm on kube-prometheus's shape or on the deployed config."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsharness import am_lint, toolchecks
from obsharness.errors import AlertmanagerLintWarning, ConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"
STACK_AM = Path(__file__).parent.parent / "stack" / "alertmanager" / "alertmanager.yml"

MISTAKES = """\
route:
  receiver: team
  group_wait: 10m
  group_interval: 1m
  repeat_interval: 30s
  routes:
    - receiver: team
      matchers: ['severity="critical"']
    - receiver: pager
      matchers: ['severity="critical"']
    - receiver: team
      matchers: ['team="web"']
      continue: true
    - receiver: pager
      matchers: ['team="web"']
    - receiver: team
    - receiver: pager
      matchers: ['team="db"']
inhibit_rules:
  - source_matchers: ['alertname="ClusterDown"']
    target_matchers: ['severity="warning"']
receivers:
  - name: team
    webhook_configs: [{url: "http://127.0.0.1:1/"}]
  - name: pager
  - name: unused
    webhook_configs: [{url: "http://127.0.0.1:1/"}]
"""


def _at(findings: list[am_lint.Finding], severity: str, line: int) -> list[str]:
    return [f.message for f in findings if f.severity == severity and f.line == line]


def test_every_mistake_is_named_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(MISTAKES)
    toolchecks.check_alertmanager_config(config)  # amtool accepts every one of them
    findings = am_lint.lint(config)
    assert sorted(f.line for f in findings if f.severity == "error") == [9, 17]
    assert "line 7 has the same matchers" in _at(findings, "error", 9)[0]
    assert "line 16 matches every alert" in _at(findings, "error", 17)[0]
    assert "repeats the matchers of its sibling at line 11" in _at(findings, "warning", 14)[0]
    root = " ".join(_at(findings, "warning", 2))
    assert "repeat_interval 30s is shorter than group_interval 1m" in root
    assert "group_wait 10m is longer than group_interval 1m" in root
    assert "without `equal`" in _at(findings, "warning", 20)[0]
    assert _at(findings, "warning", 25) == [
        'receiver "pager" has no integration: the alerts routed to it reach nobody '
        '(name it "null" if that is meant)']
    assert _at(findings, "warning", 26) == ['receiver "unused" is defined but no route sends to it']
    assert len(findings) == 8
    assert {f.path for f in findings} == {config}


def test_errors_stop_the_run_and_warnings_are_said(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(MISTAKES)
    with pytest.raises(ConfigError, match=r"alertmanager\.yml:9 .*line 9: .*line 17: "):
        am_lint.enforce(config)
    config.write_text(MISTAKES.replace("    - receiver: pager\n      matchers: ['severity=", "    - receiver: pager\n      matchers: ['sev=").replace("    - receiver: team\n    - receiver: pager", "    - receiver: pager"))
    with pytest.warns(AlertmanagerLintWarning) as caught:
        findings = am_lint.enforce(config)
    assert findings
    assert len(caught) == len(findings)
    assert {f.severity for f in findings} == {"warning"}


def test_the_deployed_config_has_no_finding() -> None:
    assert am_lint.lint(STACK_AM) == []


def test_kube_prometheus_gets_only_true_findings() -> None:
    """Its InfoInhibitor rule has no `equal` by design (said, as a warning); its
    placeholder receivers have no integration (true: those alerts reach nobody)."""
    findings = am_lint.lint(FIXTURES / "kube-prometheus.yaml")
    assert {f.severity for f in findings} == {"warning"}
    messages = " ".join(f.message for f in findings)
    assert 'receiver "null"' not in messages
    assert "without `equal`" in messages
