"""sources/*: monitoring code in a folder the sources read that nothing loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checks.helpers import Break, assert_produces

BREAKS: dict[str, Break] = {
    "sources/unloaded": lambda s: (s / "grafana/dashboards/notes.yaml").write_text(
        "groups:\n  - name: stray\n    rules:\n      - {alert: Stray, expr: up == 0}\n"),
}
NOT_HERE = {
    "sources/advice": "produced in test_team_shapes (fields promtool drops)",
}


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_each_sources_check_names_its_file(check: str, stack_copy: Path) -> None:
    assert_produces(check, BREAKS[check], stack_copy)
