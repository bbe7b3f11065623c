"""The report as a reader sees it: Debian's headless Chromium opens the static page."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsharness.browser import read_report
from obsharness.errors import ComponentUnavailableError
from obsharness.report import diagrams, html
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
    assert "Lines arrive [promtail]" in view.not_proven[0]
    assert view.diagrams == 5
    if html.mermaid_script() is not None:  # installed by make setup (tools/report-assets)
        assert view.diagrams_drawn == 5
