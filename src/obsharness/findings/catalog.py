"""Every check `obsharness check` reports, by stable id, as pint names its checks.

The id is a contract: allowlists and code-scanning alerts refer to it. The ids live in
their family's module (obsharness.findings.checks.*); each family has a page in
docs/checks/ generated from them (`obsharness checks --out docs/checks`) and a test
module in tests/checks/ whose fixtures produce each id.
"""

from __future__ import annotations

from obsharness.findings.checks import FAMILIES, config
from obsharness.findings.model import Check

__all__ = ["BY_ID", "CHECKS", "TOOLS", "WARNINGS", "Check", "get"]

CHECKS: tuple[Check, ...] = tuple(c for family in FAMILIES for c in family.CHECKS)
BY_ID = {c.id: c for c in CHECKS}
# A ConfigError's checked_with -> id: every family's words in turn, config's (YAML,
# JSON) last, being the most general.
TOOLS: tuple[tuple[str, str], ...] = tuple(
    pair for family in (*(f for f in FAMILIES if f is not config), config)
    for pair in family.TOOLS)
WARNINGS: tuple[tuple[type[Warning], str], ...] = tuple(
    pair for family in FAMILIES for pair in family.WARNINGS)


def get(check_id: str) -> Check:
    return BY_ID[check_id]
