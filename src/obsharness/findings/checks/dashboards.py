"""dashboards/*: Grafana dashboards, their variables, datasources and queries."""

from __future__ import annotations

from obsharness import errors
from obsharness.findings.model import Check

FAMILY = "dashboards"
TITLE = "Grafana dashboards"
CHECKS = (
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
)
TOOLS = (("dashboard", "dashboards/invalid"),)
WARNINGS: tuple[tuple[type[Warning], str], ...] = (
    (errors.DashboardAdviceWarning, "dashboards/style"),
)


def problem_check(message: str, *, advice: bool) -> str:
    """The id of a dashboard problem, by what its message says it is."""
    if advice:
        return "dashboards/style"
    if "PromQL" in message or "parse" in message:
        return "dashboards/promql"
    if "is not provisioned" in message:
        return "dashboards/datasource-unknown"
    if "variable" in message:
        return "dashboards/variable-unresolved"
    return "dashboards/invalid"


def warning_check(message: str) -> str | None:
    """A source warning that is this family's, by its words."""
    return "dashboards/datasources-assumed" \
        if message.startswith("no Grafana datasource provisioning") else None
