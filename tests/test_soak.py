"""make soak's bookkeeping: junit files of several runs merged into one table."""

from __future__ import annotations

from pathlib import Path

from obsharness import soak

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="steps.test_scenarios" name="test_inhibition" time="{t}">{body}</testcase>
<testcase classname="steps.test_scenarios" name="test_silence" time="3.5"/>
<testcase classname="steps.test_scenarios" name="test_grafana" time="0.0">
  <skipped message="grafana unavailable"/></testcase>
</testsuite></testsuites>
"""


def _run(tmp_path: Path, index: int, seconds: float, failure: str = "") -> Path:
    body = (f'<failure message="{failure}">Traceback\nmore</failure>' if failure else "")
    path = tmp_path / f"run-{index}.xml"
    path.write_text(JUNIT.format(t=seconds, body=body))
    return path


def test_one_failure_in_three_runs_leads_the_table(tmp_path: Path) -> None:
    runs = [soak.read_junit(_run(tmp_path, 1, 10.0)),
            soak.read_junit(_run(tmp_path, 2, 26.8, "waited 26.8 s for inhibited")),
            soak.read_junit(_run(tmp_path, 3, 12.0))]
    records = soak.merge(runs)
    assert [r.name for r in records] == ["steps/test_scenarios.py::test_inhibition",
                                         "steps/test_scenarios.py::test_grafana",
                                         "steps/test_scenarios.py::test_silence"]
    first = records[0]
    assert first.outcomes == ["passed", "failed", "passed"]
    assert first.failures == ["waited 26.8 s for inhibited"]
    assert first.durations_s == [10.0, 26.8, 12.0]
    assert records[1].count("skipped") == 3
    assert records[1].durations_s == []  # a skip has no duration worth showing
    text = soak.table(records, 3)
    assert text.splitlines()[2].split()[:3] == ["test_inhibition", "2", "1"]
    assert "12.0" in text.splitlines()[2]  # the median of 10, 12 and 26.8
    assert text.endswith("3 scenarios x 3 runs: 1 failure(s)")
    # pytest-split's format: node id -> seconds (the median), skips left out.
    assert soak.durations(records) == {"steps/test_scenarios.py::test_inhibition": 12.0,
                                       "steps/test_scenarios.py::test_silence": 3.5}
