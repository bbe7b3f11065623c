"""prometheus/*: Prometheus' own config, as promtool judges it."""

from __future__ import annotations

from obsharness.findings.model import Check

FAMILY = "prometheus"
TITLE = "Prometheus' own config"
CHECKS = (
    Check("prometheus/config", "error", "Prometheus refuses its config",
          "promtool check config"),
)
TOOLS = (("promtool check config", "prometheus/config"),)
WARNINGS: tuple[tuple[type[Warning], str], ...] = ()
