"""The report as a reader sees it: Debian's headless Chromium opens the static page."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsharness.browser import read_report
from obsharness.errors import ComponentUnavailableError
from obsharness.report import diagrams, html
from obsharness.report.check import problems
from obsharness.report.results import ScenarioResult, StepResult
from tests.test_report import _results

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_chromium_finds_scenarios_plots_evidence_and_skip_reasons(tmp_path: Path) -> None:
    page = html.write(_results(), tmp_path, diagrams.all_diagrams())
    try:
        view = read_report(page)
    except ComponentUnavailableError as exc:
        pytest.skip(str(exc))
    fired = view.scenarios["steps/test_scenarios.py::test_alert_fires"]
    assert "Errors above 5% page the on-call" in str(fired["title"])
    assert fired["outcome"] == "passed"
    assert fired["plots"] == 1
    assert fired["plots_visible"] == 1
    assert fired["evidence"] == 2
    skipped = view.scenarios["steps/test_scenarios.py::test_loki[promtail]"]
    assert "binary 'loki' not found" in str(skipped["reason"])
    assert len(view.not_proven) == 1
    assert "Lines arrive (with log agent promtail)" in view.not_proven[0]
    assert view.diagrams == 5
    if html.mermaid_script() is not None:  # installed by make setup (tools/report-assets)
        assert view.diagrams_drawn == 5


def test_at_1400_px_failures_come_first_links_resolve_and_nothing_overflows(
        tmp_path: Path) -> None:
    """A team's morning read: what failed first, with a link to it and its own message;
    then what was not proven, grouped; long unbreakable lines wrap; every link lands."""
    results = _results()
    long_name = "oncall-" + "critical" * 30  # a receiver name longer than any line
    results.scenarios.append(ScenarioResult(
        nodeid="steps/test_scenarios.py::test_typo[errors of 20% hit 'x', a \"b\"]",
        feature="Alerting",
        feature_file="features/alerting.feature", name="A typo in a receiver is named",
        outcome="failed", reason=f"AssertionError: route sends to receiver {long_name!r}, "
        "which is not defined", traceback="def fixturefunc(**kwargs):\n    ...\n" * 40,
        steps=[StepResult("Then", f"Alertmanager routes an alert to {long_name}", "failed")]))
    page = html.write(results, tmp_path, diagrams.all_diagrams())
    try:
        view = read_report(page, screenshot=tmp_path / "report.png")
    except ComponentUnavailableError as exc:
        pytest.skip(str(exc))
    assert view.sections[:2] == ("Failed (1)", "Not proven in this run (1)")
    assert view.sections[2] == "Proven, per flow"  # no alert inventory in this run
    [failure] = view.failed
    assert failure.startswith("Alerting: A typo in a receiver is named")
    assert "which is not defined" in failure
    assert "fixturefunc" not in failure
    assert view.broken_links == ()  # a node id with %, quotes and spaces included
    assert view.overflow_px == 0
    assert problems(results, page) == []  # what `obsharness report --check` enforces
    assert (tmp_path / "report.png").stat().st_size > 10_000
