"""The check families of `obsharness check`, one module each (as pint keeps one file per
check): its ids with their default severity, the tools that decide them, and how a
tool's error or a warning category maps to an id. Each family has a page in docs/checks/
and a test module with fixtures of its own in tests/checks/."""

from __future__ import annotations

from types import ModuleType

from obsharness.findings.checks import (
    alertmanager,
    config,
    dashboards,
    loki,
    prometheus,
    rules,
    sources,
)

FAMILIES: tuple[ModuleType, ...] = (config, prometheus, rules, alertmanager, loki,
                                    dashboards, sources)
