"""config/*: a file that does not parse, named with the parser's own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checks.helpers import AM, Break, assert_produces, edit

BREAKS: dict[str, Break] = {
    "config/parse": lambda s: edit(s / AM, "route:", "route: [\n"),
}
NOT_HERE: dict[str, str] = {}


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_each_config_check_names_its_file(check: str, stack_copy: Path) -> None:
    assert_produces(check, BREAKS[check], stack_copy)
