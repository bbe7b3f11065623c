"""Every check id of `obsharness check`, produced by a fixture of its own (a stack copy
broken one way, judged by the real tools), and its GitHub annotation and SARIF."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from obsharness import static_check
from obsharness.cli import main
from obsharness.errors import ConfigError
from obsharness.findings import allowlist, report
from obsharness.findings.catalog import BY_ID, CHECKS
from obsharness.findings.model import Finding
from obsharness.stack.manifest import load_manifest


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def _panel(stack: Path, **fields: object) -> None:
    board = stack / "grafana" / "dashboards" / "system.json"
    data = json.loads(board.read_text())
    data["panels"][0].update(fields)
    board.write_text(json.dumps(data, indent=2))


def _target(stack: Path, expr: str) -> None:
    board = stack / "grafana" / "dashboards" / "system.json"
    data = json.loads(board.read_text())
    data["panels"][0]["targets"][0]["expr"] = expr
    board.write_text(json.dumps(data, indent=2))


def _add_source(stack: Path, kind: str, glob: str) -> None:
    manifest = yaml.safe_load((stack / "stack.yaml").read_text())
    manifest["sources"].setdefault(kind, []).append(glob)
    (stack / "stack.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))


def _without_grafana(stack: Path) -> None:
    """A repository whose datasources live in Grafana itself: no provisioning at all."""
    manifest = yaml.safe_load((stack / "stack.yaml").read_text())
    del manifest["components"]["grafana"]
    (stack / "stack.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    (stack / "grafana/provisioning/datasources/datasources.yml").unlink()
    (stack / "grafana/provisioning/datasources").rmdir()


AM = Path("alertmanager/alertmanager.yml")
RULES = Path("prometheus/rules/alerts.yml")
# check id -> how to break a stack copy so that `obsharness check` reports it.
BREAKS: dict[str, Callable[[Path], None]] = {
    "config/parse": lambda s: _edit(s / AM, "route:", "route: [\n"),
    "prometheus/config": lambda s: _edit(s / "prometheus/prometheus.yml", "global:",
                                         "global:\n  scrape_interval: often"),
    "rules/invalid": lambda s: _edit(s / RULES, "> 0.05", "> > 0.05"),
    "rules/source": lambda s: (
        (s / "prometheus/team").mkdir(),
        (s / "prometheus/team/bad.yaml").write_text(
            "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\n"
            "spec: {groups: {name: g}}\n"),
        _add_source(s, "rules", "prometheus/team/*.yaml")),
    "rules/lint": lambda s: (s / "prometheus/rules/dup.yml").write_text(
        "groups:\n  - name: dup\n    rules:\n"
        "      - {record: 'job:up:sum', expr: 'sum by (job) (up)'}\n"
        "      - {record: 'job:up:sum', expr: 'sum by (job) (up)'}\n"),
    "rules/unit-test": lambda s: _edit(s / "prometheus/tests/alerts.test.yml",
                                       "severity: critical", "severity: page"),
    "alertmanager/config": lambda s: _edit(s / AM, "repeat_interval:", "group_interval: 0s\n"
                                           "  repeat_interval:"),
    "alertmanager/receiver-undefined": lambda s: _edit(s / AM, "receiver: oncall-critical",
                                                       "receiver: oncall-critcal"),
    "dashboards/invalid": lambda s: _panel(s, gridPos="top left"),
    "dashboards/variable-unresolved": lambda s: _panel(
        s, datasource={"type": "prometheus", "uid": "${nowhere}"}),
    "dashboards/datasource-unknown": lambda s: _panel(
        s, datasource={"type": "prometheus", "uid": "no-such-uid"}),
    "dashboards/promql": lambda s: _target(s, "rate(node_cpu_seconds_total[5m]"),
    "dashboards/style": lambda s: _panel(s, title=""),
    "dashboards/datasources-assumed": _without_grafana,
    "sources/unloaded": lambda s: (s / "grafana/dashboards/notes.yaml").write_text(
        "groups:\n  - name: stray\n    rules:\n      - {alert: Stray, expr: up == 0}\n"),
    "loki/rules": lambda s: _edit(s / "loki/rules/security.yml", "groups:", "grups:"),
}
# What this machine cannot produce, each with why; never counted as tested.
NOT_HERE = {
    "loki/config": "needs the loki or promtail binary, which no route provides here; "
                   "toolchecks' Loki and Promtail validators are tested with recorded output",
    "alertmanager/route-unreached": "a warning of the routing check, produced in "
                                    "test_alertrouting; classified by its warning category",
    "alertmanager/lint": "produced in test_am_lint; classified by its warning category",
    "dashboards/skipped": "produced in test_team_shapes (operator resources it cannot show)",
    "sources/advice": "produced in test_team_shapes (fields promtool drops)",
}


def _checked_by(check: str) -> tuple[str, ...]:
    """The part of `obsharness check` that produces a check id (each case runs only it)."""
    return {"rules/lint": ("lint",), "rules/unit-test": ("unit-tests",),
            "sources/unloaded": ("unloaded",)}.get(
        check, ("dashboards",) if check.startswith("dashboards/") else ("configs",))


def test_every_check_has_a_fixture_or_says_why_not() -> None:
    assert set(BREAKS) | set(NOT_HERE) == set(BY_ID)
    assert not set(BREAKS) & set(NOT_HERE)
    assert len({c.id for c in CHECKS}) == len(CHECKS)


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_each_check_names_its_file_with_the_tools_own_message(
        check: str, stack_copy: Path) -> None:
    BREAKS[check](stack_copy)
    result = static_check.run(load_manifest(stack_copy / "stack.yaml"),
                              only=_checked_by(check))
    mine = [f for f in result.findings if f.check == check]
    assert mine, "\n".join(map(str, result.findings)) or "no finding at all"
    assert all(f.severity == BY_ID[check].severity for f in mine)
    if BY_ID[check].severity == "error":
        assert not result.ok
    located = [f for f in mine if f.path is not None]
    assert located or check == "dashboards/datasources-assumed", mine
    for f in located:
        assert f.path.resolve().is_relative_to(stack_copy.resolve()), f


def test_a_broken_rule_is_an_annotation_and_a_sarif_result(
        stack_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    BREAKS["rules/invalid"](stack_copy)
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
    BREAKS["dashboards/style"](stack_copy)
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
