"""`make test`'s phase table."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from obsharness import phases


def test_each_phase_is_timed_with_its_status_and_the_table_totals_them(tmp_path: Path) -> None:
    record = tmp_path / "phases.json"
    assert phases.run("unit", [sys.executable, "-c", "import time; time.sleep(0.3)"],
                      record) == 0
    assert phases.run("lint", [sys.executable, "-c", "raise SystemExit(3)"], record) == 3
    table = phases.summary(record).splitlines()
    assert table[0].split() == ["phase", "seconds", "result"]
    unit, lint, total = table[1].split(), table[2].split(), table[3].split()
    assert unit[0::2] == ["unit", "ok"]
    assert float(unit[1]) >= 0.3
    assert [lint[0], *lint[2:]] == ["lint", "failed", "(3)"]
    assert total[0] == "total"
    assert float(total[1]) == pytest.approx(float(unit[1]) + float(lint[1]), abs=0.051)
