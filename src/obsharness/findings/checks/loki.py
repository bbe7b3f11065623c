"""loki/*: Loki's ruler files, and Loki's and its log agents' configs."""

from __future__ import annotations

from obsharness.findings.model import Check

FAMILY = "loki"
TITLE = "Loki and its log agents"
CHECKS = (
    Check("loki/rules", "error", "a Loki ruler file of the wrong shape", "obsharness"),
    Check("loki/config", "error", "Loki or its log agent refuses its config",
          "loki / promtail -verify-config"),
)
TOOLS = (("Loki rule file", "loki/rules"),)
WARNINGS: tuple[tuple[type[Warning], str], ...] = ()
