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
    Check("rules/series-missing", "error", "a rule reads series no target of the running "
          "stack has, so it can never fire there; a rule meant for another environment is "
          "listed in prometheus/rules_elsewhere.yml with a reason (`obsharness "
          "rules-elsewhere --write` drafts the list). A live check: the scenario \"every "
          "rule's selectors match series in Prometheus\" asks the running Prometheus, "
          "`obsharness check` does not", "the running Prometheus"),
)
TOOLS = (("promtool check rules", "rules/invalid"), ("promtool test rules", "rules/unit-test"),
         ("rule source", "rules/source"), ("jsonnet", "rules/source"))
WARNINGS: tuple[tuple[type[Warning], str], ...] = ((errors.RuleLintWarning, "rules/lint"),)
