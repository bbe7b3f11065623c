"""Steps of the static stage: the tools' own validators on the deployable configs."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from obsharness import (
    alertrouting,
    am_lint,
    am_matchers,
    am_tables,
    rule_sources,
    ruletests,
    toolchecks,
)
from obsharness.am_judge import AlertmanagerJudge, component_features
from obsharness.config_findings import validator
from obsharness.errors import RuleLintWarning, SourceAdviceWarning
from obsharness.report import evidence
from obsharness.rule_sources import RuleSet
from obsharness.stack import secret_configs
from obsharness.stack.manifest import Manifest
from obsharness.stack.render import validate_sources
from obsharness.timing import parse_duration


@given("the deployable configs under stack/", target_fixture="stack_dir")
@given("the deployable configs of this repository", target_fixture="stack_dir")
def deployable_configs(stack_manifest: Manifest) -> Path:
    """The files the manifest names, as they are deployed (stack/ in the reference
    project, where obsharness.yaml points in a team's repository)."""
    return stack_manifest.stack_dir


@then(parsers.parse("promtool check config accepts stack/{path}"))
def promtool_check_config(path: str, stack_dir: Path) -> None:
    result = toolchecks.check_prometheus_config(stack_dir / path)
    assert "SUCCESS" in result.output, result.output


@then("promtool check rules accepts every rule file")
def promtool_check_rules(rule_set: RuleSet, request: pytest.FixtureRequest) -> None:
    """Every rule file, plain or extracted, judged by promtool; its lint said per file and
    rule (a warning, an error with --lint-fatal), never a count that does not add up."""
    assert rule_set.files, "no rule file: prometheus.yml's rule_files and sources.rules are empty"
    result = toolchecks.check_rules(rule_set.files)
    lint = [str(f) for f in toolchecks.lint_findings(result)]
    evidence.record("check", f"promtool lint of {len(rule_set.files)} rule file(s)",
                    lint or ["no finding"])
    for dropped in rule_set.ignored_fields():
        warnings.warn(f"{dropped}: dropped from what Prometheus loads (promtool "
                      f"--ignore-unknown-fields reads the file the same way)",
                      SourceAdviceWarning, stacklevel=1)
    if request.config.getoption("--lint-fatal"):
        assert not lint, "promtool's rule lint (--lint-fatal):\n" + "\n".join(lint)
    for finding in lint:
        warnings.warn(finding, RuleLintWarning, stacklevel=1)


@then("every config the manifest names passes its component's own checks")
@validator
def every_config_validates(stack_manifest: Manifest) -> None:
    """What the stack's start checks first (promtool, amtool, the routing check, the
    Alertmanager lint, Loki's and Promtail's validators where present, every rule
    source): one finding here, and every scenario that needs the stack is not run."""
    validate_sources(stack_manifest)


@then("every file in the folders the rule and dashboard sources read is loaded by one")
def nothing_unloaded(stack_manifest: Manifest) -> None:
    unloaded = rule_sources.unloaded(stack_manifest)
    evidence.record("check", "files that no source loads", unloaded or ["none"])
    assert not unloaded, "\n".join(unloaded)


@then(parsers.parse("the promtool rule unit tests under stack/{folder}/ pass"))
def promtool_rule_tests(folder: str, stack_dir: Path) -> None:
    tests = sorted((stack_dir / folder).glob("*.test.yml"))
    assert tests, f"no *.test.yml under stack/{folder}"
    result = toolchecks.run_rule_tests(tests)
    assert result.ok, f"promtool test rules failed:\n{result.output}"


@then("the promtool unit tests of this repository pass")
def promtool_project_rule_tests(stack_manifest: Manifest) -> None:
    """Every promtool test file the manifest's sources.rule_tests name (else those beside
    the Prometheus config), run folder by folder: promtool resolves rule_files there."""
    tests = rule_sources.rule_test_files(stack_manifest)
    assert tests, "no promtool test file: obsharness.yaml's sources.rule_tests names none"
    for folder in sorted({t.parent for t in tests}):
        result = toolchecks.run_rule_tests([t for t in tests if t.parent == folder])
        assert result.ok, f"promtool test rules in {folder} failed:\n{result.output}"


@then(parsers.parse("amtool check-config accepts stack/{path}"))
def amtool_check_config(path: str, stack_manifest: Manifest) -> None:
    result = toolchecks.check_alertmanager_config(
        stack_manifest.stack_dir / path,
        component_features(stack_manifest.component("alertmanager")))
    assert "SUCCESS" in result.output, result.output


@then("the Alertmanager config has none of the mistakes amtool accepts")
def alertmanager_lint(stack_manifest: Manifest, alertmanager_judge: AlertmanagerJudge) -> None:
    config = _alertmanager_config(stack_manifest)
    findings = am_lint.lint(config, alertmanager_judge.mode)
    evidence.record("check", f"Alertmanager lint of {config.name}",
                    [str(f) for f in findings] or ["no finding"])
    errors = [str(f) for f in findings if f.severity == "error"]
    assert not errors, "mistakes amtool accepts:\n" + "\n".join(errors)


@given("the production alert rules", target_fixture="rule_files")
def production_rules(rule_set: RuleSet) -> list[Path]:
    return rule_set.files


@when(parsers.parse("these series are scraped every {interval}:"), target_fixture="series")
def series_table(interval: str, datatable: list[list[str]]) -> tuple[str, list[tuple[str, str]]]:
    return interval, [(row[0], row[1]) for row in datatable[1:]]


@then("promtool sees exactly these alerts:")
def promtool_sees(rule_files: list[Path], series: tuple[str, list[tuple[str, str]]],
                  datatable: list[list[str]]) -> None:
    interval, rows = series
    expected = [ruletests.ExpectedAlert(r[0], r[1], ruletests.parse_labels(r[2]))
                for r in datatable[1:]]
    result, test_file = ruletests.run_table(rule_files, interval, rows, expected)
    assert result.ok, (
        f"promtool test rules failed:\n{result.output}\n\ngenerated test:\n{test_file}"
    )


def _alertmanager_config(manifest: Manifest) -> Path:
    return secret_configs.config_path(manifest, manifest.component("alertmanager"))


def _rows(datatable: list[list[str]]) -> list[list[str]]:
    return [[cell.strip() for cell in row] for row in datatable[1:]]


def _labels(cell: str) -> dict[str, str]:
    return ruletests.parse_labels(cell) or {}


@then(parsers.re(r"Alertmanager routes an alert with (?P<labels>.+) to (?P<receivers>.+?)"
                 r"(?:, as amtool agrees)?$"))
def routed(labels: str, receivers: str, stack_manifest: Manifest, rule_set: RuleSet,
           alertmanager_judge: AlertmanagerJudge) -> None:
    """The private Alertmanager decides; amtool, asked too, must agree with it."""
    config_path = _alertmanager_config(stack_manifest)
    label_set = _labels(labels)
    component = stack_manifest.component("alertmanager")
    alertrouting.check(config_path, rule_set.files,
                       only_source=component.only_alert_source, mode=alertmanager_judge.mode)
    wanted = [r.strip() for r in receivers.split(",")]
    answer = am_tables.routing(alertmanager_judge, config_path, label_set, wanted)
    theirs = toolchecks.amtool_routes(config_path, label_set, alertmanager_judge.features)
    assert theirs == list(answer.receivers), (
        f"amtool routes {label_set} to {theirs}, Alertmanager to {list(answer.receivers)}")


@then(parsers.parse("every receiver in {path} sends resolved notifications"))
def resolved_everywhere(path: str, stack_dir: Path) -> None:
    config = stack_dir / path.removeprefix("stack/")
    silent = alertrouting.silent_on_resolve(config)
    evidence.record("check", f"send_resolved of every receiver in {path}",
                    silent or ["every integration sends resolved notifications"])
    assert not silent, "receivers that would not say an alert resolved:\n" + "\n".join(silent)


@then(parsers.parse("Alertmanager's first notification of an alert with {labels} leaves "
                    "within {delay}"))
def first_notification_within(labels: str, delay: str, stack_manifest: Manifest) -> None:
    config = alertrouting.load(_alertmanager_config(stack_manifest),
                               mode=am_matchers.mode_for(component_features(
                                   stack_manifest.component("alertmanager"))))
    label_set = ruletests.parse_labels(labels) or {}
    waits = config.first_notification_waits(label_set)
    evidence.record("check", f"group_wait for {label_set}", waits)
    late = {r: w for r, w in waits.items() if parse_duration(w) > parse_duration(delay)}
    assert not late, (f"{config.path}: an alert with {label_set} waits {late} (group_wait) "
                      f"before its first notification, more than {delay}")


@then("with these alerts firing together, Alertmanager mutes exactly the marked ones:")
def inhibition_table(stack_manifest: Manifest, alertmanager_judge: AlertmanagerJudge,
                     datatable: list[list[str]]) -> None:
    am_tables.inhibition(alertmanager_judge, _alertmanager_config(stack_manifest),
                         [(_labels(r[0]), r[1] == "yes") for r in _rows(datatable)])


@then("firing together, these alerts reach their receivers in the marked notifications:")
def grouping_table(stack_manifest: Manifest, alertmanager_judge: AlertmanagerJudge,
                   datatable: list[list[str]]) -> None:
    am_tables.grouping(alertmanager_judge, _alertmanager_config(stack_manifest),
                       [(_labels(r[0]), r[1]) for r in _rows(datatable)])


@then(parsers.parse("a silence of {matchers} silences exactly the marked alerts:"))
def silence_table(matchers: str, stack_manifest: Manifest,
                  alertmanager_judge: AlertmanagerJudge, datatable: list[list[str]]) -> None:
    am_tables.silence(alertmanager_judge, _alertmanager_config(stack_manifest), matchers,
                      [(_labels(r[0]), r[1] == "yes") for r in _rows(datatable)])


@then("Alertmanager's time intervals mute these alerts as marked:")
def time_interval_table(stack_manifest: Manifest, alertmanager_judge: AlertmanagerJudge,
                        datatable: list[list[str]]) -> None:
    rows = [(_labels(r[0]), r[1], r[2], [n.strip() for n in r[3].split(",")
                                         if n.strip() and n.strip() != "none"])
            for r in _rows(datatable)]
    am_tables.time_muting(alertmanager_judge, _alertmanager_config(stack_manifest), rows)
