"""The tools' validators on stack/, and proof that the rule unit tests can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsharness import toolchecks
from obsharness.backends import BACKENDS, choose_backend
from tests.conftest import STACK


def test_rule_unit_tests_pass_on_the_deployable_rules() -> None:
    result = toolchecks.run_rule_tests(sorted((STACK / "prometheus" / "tests").glob("*.test.yml")))
    assert result.ok, result.output
    assert "SUCCESS" in result.output


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("for: 2m", "for: 1m"),  # fires too early: the 2m eval must see no alert
        ("for: 2m", "for: 3m"),  # fires too late
        ("> 0.05", "> 0.03"),  # 4% would fire
        ("> 0.05", "> 0.07"),  # 6% would not fire
    ],
)
def test_rule_unit_tests_catch_a_timing_or_threshold_change(
    stack_copy: Path, old: str, new: str
) -> None:
    rules = stack_copy / "prometheus" / "rules" / "alerts.yml"
    assert old in rules.read_text()
    rules.write_text(rules.read_text().replace(old, new))
    result = toolchecks.run_rule_tests(sorted((stack_copy / "prometheus" / "tests").glob("*.test.yml")))
    assert not result.ok, f"the rule tests did not notice {old!r} -> {new!r}"


def test_backend_choice_says_why() -> None:
    assert set(BACKENDS) == {"auto", "process", "docker", "external"}
    auto = choose_backend("auto")
    assert auto.name == "process"
    assert auto.why.startswith("auto: ")
    docker = choose_backend("docker")
    assert docker.unsupported_reason is not None
    assert "not implemented yet" in docker.unsupported_reason
    with pytest.raises(ValueError, match="unknown backend 'kubernetes'"):
        choose_backend("kubernetes")
