"""Every check `obsharness check` reports, by stable id, as pint names its checks.

The id is a contract: allowlists and code-scanning alerts refer to it. Each family has
a page in docs/checks/ generated from this table (`obsharness checks --out docs/checks`),
and each id a fixture in tests/test_findings.py that produces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from obsharness.findings.model import Severity


@dataclass(frozen=True)
class Check:
    id: str
    severity: Severity  # its default: an allowlist entry may silence it
    summary: str
    tool: str  # who decides: the real tool where one can answer

    @property
    def family(self) -> str:
        return self.id.split("/", 1)[0]


CHECKS: tuple[Check, ...] = (
    Check("config/parse", "error", "a config file is not valid YAML or JSON",
          "the YAML/JSON parser"),
    Check("prometheus/config", "error", "Prometheus refuses its config", "promtool check config"),
    Check("rules/invalid", "error", "a rule file Prometheus would refuse to load",
          "promtool check rules"),
    Check("rules/source", "error", "a rules source (PrometheusRule, ConfigMap, mixin, command) "
          "that cannot be read as rule groups", "obsharness rule sources"),
    Check("rules/lint", "warning", "promtool's rule lint (duplicate rules); an error with "
          "--lint-fatal", "promtool check rules --lint"),
    Check("rules/unit-test", "error", "a promtool unit test of the rules fails",
          "promtool test rules"),
    Check("alertmanager/config", "error", "Alertmanager refuses its config", "amtool check-config"),
    Check("alertmanager/receiver-undefined", "error", "a route sends to a receiver the config "
          "does not define", "obsharness routing check"),
    Check("alertmanager/route-unreached", "warning", "a route no alert rule of this stack can "
          "reach (fine for alerts of other sources; an error with only_alert_source)",
          "obsharness routing check"),
    Check("alertmanager/lint", "warning", "a mistake amtool accepts (a matcher that can never "
          "match, a template that is never used...)", "obsharness Alertmanager lint"),
    Check("loki/rules", "error", "a Loki ruler file of the wrong shape", "obsharness"),
    Check("loki/config", "error", "Loki or its log agent refuses its config",
          "loki / promtail -verify-config"),
    Check("dashboards/invalid", "error", "a dashboard Grafana cannot show, or shows wrong or "
          "empty", "obsharness dashboard checks"),
    Check("dashboards/variable-unresolved", "error", "a dashboard variable or datasource "
          "reference that resolves to nothing", "obsharness dashboard checks"),
    Check("dashboards/datasource-unknown", "error", "a panel names a datasource uid that is not "
          "provisioned", "obsharness dashboard checks"),
    Check("dashboards/promql", "error", "a panel's PromQL the real Prometheus parser refuses",
          "promql-parser (Prometheus' grammar)"),
    Check("dashboards/style", "warning", "dashboard-linter's style advice (units, titles, "
          "$__rate_interval); a third party's style is never an error", "obsharness"),
    Check("dashboards/skipped", "info", "a dashboard document the sources skip, and why",
          "obsharness"),
    Check("dashboards/datasources-assumed", "info", "no datasource provisioning in the "
          "repository: datasources are assumed to exist as dashboards name them", "obsharness"),
    Check("sources/unloaded", "error", "a file of monitoring code in a folder the sources read "
          "that no source loads", "obsharness"),
    Check("sources/advice", "warning", "advice about a rules or dashboard source", "obsharness"),
)
BY_ID = {c.id: c for c in CHECKS}


def get(check_id: str) -> Check:
    return BY_ID[check_id]
