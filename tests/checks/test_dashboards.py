"""dashboards/*: a panel Grafana cannot show, a variable or datasource that resolves to
nothing, PromQL the real parser refuses, style advice, and datasources assumed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checks.helpers import Break, assert_produces, panel, target


def without_grafana(stack: Path) -> None:
    """A repository whose datasources live in Grafana itself: no provisioning at all."""
    import yaml

    manifest = yaml.safe_load((stack / "stack.yaml").read_text())
    del manifest["components"]["grafana"]
    (stack / "stack.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    (stack / "grafana/provisioning/datasources/datasources.yml").unlink()
    (stack / "grafana/provisioning/datasources").rmdir()


BREAKS: dict[str, Break] = {
    "dashboards/invalid": lambda s: panel(s, gridPos="top left"),
    "dashboards/variable-unresolved": lambda s: panel(
        s, datasource={"type": "prometheus", "uid": "${nowhere}"}),
    "dashboards/datasource-unknown": lambda s: panel(
        s, datasource={"type": "prometheus", "uid": "no-such-uid"}),
    "dashboards/promql": lambda s: target(s, "rate(node_cpu_seconds_total[5m]"),
    "dashboards/style": lambda s: panel(s, title=""),
    "dashboards/datasources-assumed": without_grafana,
}
NOT_HERE = {
    "dashboards/skipped": "produced in test_team_shapes (operator resources it cannot show)",
}


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_each_dashboards_check_names_its_dashboard(check: str, stack_copy: Path) -> None:
    assert_produces(check, BREAKS[check], stack_copy)
