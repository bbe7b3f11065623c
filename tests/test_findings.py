"""Findings where reviewers look: a GitHub annotation and SARIF for a broken rule, the
allowlist, and the docs pages. Each check id's own fixture is in tests/checks/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obsharness import static_check
from obsharness.cli import main
from obsharness.errors import ConfigError
from obsharness.findings import allowlist, report
from obsharness.findings.model import Finding
from obsharness.stack.manifest import load_manifest
from tests.checks.test_dashboards import BREAKS as DASHBOARD_BREAKS
from tests.checks.test_rules import BREAKS as RULE_BREAKS


def test_a_broken_rule_is_an_annotation_and_a_sarif_result(
        stack_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    RULE_BREAKS["rules/invalid"](stack_copy)
    monkeypatch.setenv("OBSHARNESS_STACK", str(stack_copy / "stack.yaml"))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    sarif = tmp_path / "findings.sarif"
    assert main(["check", "--sarif", str(sarif)]) == 1
    out = capsys.readouterr().out
    # The workflow command GitHub reads, on the rule's line, in promtool's words.
    assert "::error file=stack/prometheus/rules/alerts.yml,line=" in out
    assert ",title=rules/invalid::group \"service-health\"" in out
    assert "could not parse expression" in out
    data = json.loads(sarif.read_text())
    assert data["version"] == "2.1.0"
    run = data["runs"][0]
    assert run["tool"]["driver"]["name"] == "obsharness"
    invalid = [r for r in run["results"] if r["ruleId"] == "rules/invalid"]
    assert len(invalid) == 1  # promtool check config and check rules say it once
    place = invalid[0]["locations"][0]["physicalLocation"]
    assert place["artifactLocation"] == {"uri": "stack/prometheus/rules/alerts.yml",
                                         "uriBaseId": "%SRCROOT%"}
    assert place["region"]["startLine"] > 1
    rule = run["tool"]["driver"]["rules"][invalid[0]["ruleIndex"]]
    assert rule["id"] == "rules/invalid"
    assert rule["defaultConfiguration"] == {"level": "error"}


def test_an_allowlist_entry_silences_a_check_for_a_file_with_its_reason(
        stack_copy: Path) -> None:
    DASHBOARD_BREAKS["dashboards/style"](stack_copy)
    (stack_copy / allowlist.ALLOWLIST).write_text(
        "- check: dashboards/style\n  file: stack/grafana/dashboards/system.json\n"
        "  reason: the vendor's dashboard; we do not restyle it\n")
    result = static_check.run(load_manifest(stack_copy / "stack.yaml"), only=("dashboards",))
    assert not [f for f in result.advice if f.check == "dashboards/style"
                and f.path is not None and f.path.name.startswith("system.json")]
    assert result.allowed
    assert {f.allowed_because for f in result.allowed} == {
        "the vendor's dashboard; we do not restyle it"}
    # Asked for: the team's own dashboards' style is an error.
    (stack_copy / allowlist.ALLOWLIST).write_text(
        "- check: dashboards/style\n  file: stack/grafana/dashboards/system.json\n"
        "  severity: error\n  reason: our own dashboards follow the style guide\n")
    strict = static_check.run(load_manifest(stack_copy / "stack.yaml"), only=("dashboards",))
    assert not strict.ok
    assert {f.check for f in strict.errors} == {"dashboards/style"}
    (stack_copy / allowlist.ALLOWLIST).write_text("- check: dashboards/styles\n  reason: x\n")
    with pytest.raises(ConfigError, match="no check 'dashboards/styles'"):
        static_check.run(load_manifest(stack_copy / "stack.yaml"))


def test_the_docs_pages_are_the_catalogs() -> None:
    assert main(["checks", "--out", str(Path(__file__).resolve().parents[1] / "docs" / "checks"),
                 "--check"]) == 0


def test_annotation_messages_keep_newlines_and_commas_in_their_encoding() -> None:
    finding = Finding("rules/unit-test", "error", "FAILED:\n  50%, of it", Path("/r/a, b.yml"),
                      3)
    (line,) = report.github_annotations([finding], Path("/r"))
    assert line == "::error file=a%2C b.yml,line=3,title=rules/unit-test::FAILED:%0A  50%25, of it"
