"""alertmanager/*: configs amtool refuses, and routes to receivers that do not exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checks.helpers import AM, Break, assert_produces, edit

BREAKS: dict[str, Break] = {
    "alertmanager/config": lambda s: edit(s / AM, "repeat_interval:", "group_interval: 0s\n"
                                          "  repeat_interval:"),
    "alertmanager/receiver-undefined": lambda s: edit(s / AM, "receiver: oncall-critical",
                                                      "receiver: oncall-critcal"),
}
# What this module does not produce, each with where it is produced; never counted here.
NOT_HERE = {
    "alertmanager/route-unreached": "a warning of the routing check, produced in "
                                    "test_alertrouting; classified by its warning category",
    "alertmanager/lint": "produced in test_am_lint; classified by its warning category",
}


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_each_alertmanager_check_names_its_file(check: str, stack_copy: Path) -> None:
    assert_produces(check, BREAKS[check], stack_copy)
