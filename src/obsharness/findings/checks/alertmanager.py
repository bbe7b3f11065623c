"""alertmanager/*: routing, receivers and lint of Alertmanager configs."""

from __future__ import annotations

from obsharness import errors
from obsharness.findings.model import Check

FAMILY = "alertmanager"
TITLE = "Alertmanager: routing, receivers, lint"
CHECKS = (
    Check("alertmanager/config", "error", "Alertmanager refuses its config",
          "amtool check-config"),
    Check("alertmanager/receiver-undefined", "error", "a route sends to a receiver the config "
          "does not define", "obsharness routing check"),
    Check("alertmanager/route-unreached", "warning", "a route no alert rule of this stack can "
          "reach (fine for alerts of other sources; an error with only_alert_source)",
          "obsharness routing check"),
    Check("alertmanager/lint", "warning", "a mistake amtool accepts (a matcher that can never "
          "match, a template that is never used...)", "obsharness Alertmanager lint"),
)
TOOLS = (("amtool", "alertmanager/config"), ("Alertmanager lint", "alertmanager/lint"))
WARNINGS: tuple[tuple[type[Warning], str], ...] = (
    (errors.RouteForOtherSourcesWarning, "alertmanager/route-unreached"),
    (errors.AlertmanagerLintWarning, "alertmanager/lint"),
)
