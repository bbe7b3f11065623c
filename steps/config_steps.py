"""Steps of the static stage: the tools' own validators on the deployable configs."""

from __future__ import annotations

from pathlib import Path

from pytest_bdd import given, parsers, then

from obsharness import toolchecks
from obsharness.stack.manifest import Manifest
from obsharness.stack.render import rule_files_of


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
