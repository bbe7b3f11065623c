"""loki/*: Loki's ruler files; Loki's and the agents' own configs need their binaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checks.helpers import Break, assert_produces, edit

BREAKS: dict[str, Break] = {
    "loki/rules": lambda s: edit(s / "loki/rules/security.yml", "groups:", "grups:"),
}
NOT_HERE = {
    "loki/config": "needs the loki or promtail binary, which no route provides here; "
                   "toolchecks' Loki and Promtail validators are tested with recorded output",
}


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_each_loki_check_names_its_file(check: str, stack_copy: Path) -> None:
    assert_produces(check, BREAKS[check], stack_copy)
