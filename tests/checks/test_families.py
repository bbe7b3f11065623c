"""One module per family: every id of a family module has a fixture in its test module,
or says where it is produced instead; ids are unique and carry their family's name."""

from __future__ import annotations

import importlib

from obsharness.findings.catalog import BY_ID, CHECKS
from obsharness.findings.checks import FAMILIES


def test_every_check_of_every_family_has_a_fixture_or_says_why_not() -> None:
    assert len({c.id for c in CHECKS}) == len(CHECKS) == len(BY_ID)
    for family in FAMILIES:
        tests = importlib.import_module(f"tests.checks.test_{family.FAMILY}")
        ids = {c.id for c in family.CHECKS}
        assert all(i.startswith(f"{family.FAMILY}/") for i in ids), family.FAMILY
        assert set(tests.BREAKS) | set(tests.NOT_HERE) == ids, family.FAMILY
        assert not set(tests.BREAKS) & set(tests.NOT_HERE), family.FAMILY
        assert all(reason.strip() for reason in tests.NOT_HERE.values())
