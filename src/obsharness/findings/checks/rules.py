"""rules/*: alerting and recording rules, their sources and their promtool tests."""

from __future__ import annotations

from obsharness import errors
from obsharness.findings.model import Check

FAMILY = "rules"
TITLE = "Alerting and recording rules"
CHECKS = (
    Check("rules/invalid", "error", "a rule file Prometheus would refuse to load",
          "promtool check rules"),
    Check("rules/source", "error", "a rules source (PrometheusRule, ConfigMap, mixin, command) "
          "that cannot be read as rule groups", "obsharness rule sources"),
    Check("rules/lint", "warning", "promtool's rule lint (duplicate rules); an error with "
          "--lint-fatal", "promtool check rules --lint"),
    Check("rules/unit-test", "error", "a promtool unit test of the rules fails",
          "promtool test rules"),
)
TOOLS = (("promtool check rules", "rules/invalid"), ("promtool test rules", "rules/unit-test"),
         ("rule source", "rules/source"), ("jsonnet", "rules/source"))
WARNINGS: tuple[tuple[type[Warning], str], ...] = ((errors.RuleLintWarning, "rules/lint"),)
