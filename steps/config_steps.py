"""Steps of the static stage: the tools' own validators on the deployable configs."""

from __future__ import annotations

from pathlib import Path

from pytest_bdd import given, parsers, then, when

from obsharness import alertrouting, ruletests, toolchecks
from obsharness.report import evidence
from obsharness.stack.manifest import Manifest
from obsharness.stack.render import rule_files_of
from obsharness.timing import parse_duration


@given("the deployable configs under stack/", target_fixture="stack_dir")
def deployable_configs(stack_manifest: Manifest) -> Path:
    return stack_manifest.stack_dir


@then(parsers.parse("promtool check config accepts stack/{path}"))
def promtool_check_config(path: str, stack_dir: Path) -> None:
    result = toolchecks.check_prometheus_config(stack_dir / path)
    assert "SUCCESS" in result.output, result.output


@then("promtool check rules accepts every rule file")
def promtool_check_rules(stack_dir: Path) -> None:
    files = rule_files_of(stack_dir / "prometheus" / "prometheus.yml")
    assert files, "prometheus.yml names no rule file"
    result = toolchecks.check_rules(files)
    assert result.output.count("SUCCESS") == len(files), result.output


@then(parsers.parse("the promtool rule unit tests under stack/{folder}/ pass"))
def promtool_rule_tests(folder: str, stack_dir: Path) -> None:
    tests = sorted((stack_dir / folder).glob("*.test.yml"))
    assert tests, f"no *.test.yml under stack/{folder}"
    result = toolchecks.run_rule_tests(tests)
    assert result.ok, f"promtool test rules failed:\n{result.output}"


@then(parsers.parse("amtool check-config accepts stack/{path}"))
def amtool_check_config(path: str, stack_dir: Path) -> None:
    result = toolchecks.check_alertmanager_config(stack_dir / path)
    assert "SUCCESS" in result.output, result.output


@given("the production alert rules", target_fixture="rule_files")
def production_rules(stack_manifest: Manifest) -> list[Path]:
    return rule_files_of(stack_manifest.stack_dir / "prometheus" / "prometheus.yml")


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


@then(parsers.parse("Alertmanager routes an alert with {labels} to {receivers}, as amtool agrees"))
def routed(labels: str, receivers: str, stack_dir: Path, stack_manifest: Manifest) -> None:
    config_path = stack_dir / "alertmanager" / "alertmanager.yml"
    label_set = ruletests.parse_labels(labels) or {}
    config = alertrouting.check(config_path, rule_files_of(stack_dir / "prometheus" /
                                                           "prometheus.yml"))
    ours = config.receivers_for(label_set)
    theirs = toolchecks.amtool_routes(config_path, label_set)
    wanted = [r.strip() for r in receivers.split(",")]
    assert ours == wanted, f"obsharness routes {label_set} to {ours}, expected {wanted}"
    assert theirs == wanted, f"amtool routes {label_set} to {theirs}, expected {wanted}"


@then(parsers.parse("every receiver in {path} sends resolved notifications"))
def resolved_everywhere(path: str, stack_dir: Path) -> None:
    config = stack_dir / path.removeprefix("stack/")
    silent = alertrouting.silent_on_resolve(config)
    evidence.record("check", f"send_resolved of every receiver in {path}",
                    silent or ["every integration sends resolved notifications"])
    assert not silent, "receivers that would not say an alert resolved:\n" + "\n".join(silent)


@then(parsers.parse("Alertmanager's first notification of an alert with {labels} leaves "
                    "within {delay}"))
def first_notification_within(labels: str, delay: str, stack_dir: Path) -> None:
    config = alertrouting.load(stack_dir / "alertmanager" / "alertmanager.yml")
    label_set = ruletests.parse_labels(labels) or {}
    waits = config.first_notification_waits(label_set)
    evidence.record("check", f"group_wait for {label_set}", waits)
    late = {r: w for r, w in waits.items() if parse_duration(w) > parse_duration(delay)}
    assert not late, (f"{config.path}: an alert with {label_set} waits {late} (group_wait) "
                      f"before its first notification, more than {delay}")


@then("with these alerts firing together, Alertmanager mutes exactly the marked ones:")
def inhibition_table(stack_dir: Path, datatable: list[list[str]]) -> None:
    config = alertrouting.load(stack_dir / "alertmanager" / "alertmanager.yml")
    alerts = [ruletests.parse_labels(row[0]) or {} for row in datatable[1:]]
    expected = [row[1].strip() == "yes" for row in datatable[1:]]
    got = config.inhibited(alerts)
    wrong = [(a, e, g) for a, e, g in zip(alerts, expected, got, strict=True) if e != g]
    assert not wrong, "inhibition differs (alert, expected muted, got muted): " + repr(wrong)
