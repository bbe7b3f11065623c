"""prometheus/*: Prometheus' own config, judged by promtool check config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checks.helpers import Break, assert_produces, edit

BREAKS: dict[str, Break] = {
    "prometheus/config": lambda s: edit(s / "prometheus/prometheus.yml", "global:",
                                        "global:\n  scrape_interval: often"),
}
NOT_HERE: dict[str, str] = {}


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_each_prometheus_check_names_its_file_in_promtools_words(
        check: str, stack_copy: Path) -> None:
    assert_produces(check, BREAKS[check], stack_copy)
