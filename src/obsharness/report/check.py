"""Does reports/index.html show what the run did? Read by a real browser.

Every scenario of results.json must be on the page; every scenario that ran
must show evidence; every scenario that saw an alert fire must show its plot;
every skipped one its reason.
"""

from __future__ import annotations

from pathlib import Path

from obsharness.browser import read_report
from obsharness.report.results import RunResults


def problems(results: RunResults, page: Path) -> list[str]:
    view = read_report(page)
    found: list[str] = []
    for scenario in results.scenarios:
        shown = view.scenarios.get(scenario.nodeid)
        if shown is None:
            found.append(f"{scenario.nodeid}: not on the page")
            continue
        ran = any(step.status != "not run" for step in scenario.steps)
        if ran and scenario.outcome == "passed" and not shown["evidence"] and \
                not shown["plots"]:
            found.append(f"{scenario.nodeid}: passed without any evidence shown")
        if scenario.timeline and not shown["plots_visible"]:
            found.append(f"{scenario.nodeid}: saw an alert fire but shows no plot")
        if scenario.outcome == "skipped" and not shown["reason"]:
            found.append(f"{scenario.nodeid}: skipped without its reason")
    if (page.parent / "mermaid.min.js").is_file() and view.diagrams_drawn < view.diagrams:
        found.append(f"only {view.diagrams_drawn} of {view.diagrams} architecture diagrams "
                     "were drawn by Mermaid")
    return found
