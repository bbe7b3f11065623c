"""sources/*: where the monitoring code is read from, and what no source reads."""

from __future__ import annotations

from obsharness import errors
from obsharness.findings.model import Check

FAMILY = "sources"
TITLE = "Where the monitoring code is read from"
CHECKS = (
    Check("sources/unloaded", "error", "a file of monitoring code in a folder the sources read "
          "that no source loads", "obsharness"),
    Check("sources/advice", "warning", "advice about a rules or dashboard source", "obsharness"),
)
TOOLS: tuple[tuple[str, str], ...] = ()
WARNINGS: tuple[tuple[type[Warning], str], ...] = (
    (errors.SourceAdviceWarning, "sources/advice"),
)
