"""Does reports/index.html show what the run did? Read by a real browser.

Every scenario of results.json must be on the page; every scenario that ran
must show evidence; every scenario that saw an alert fire must show its plot;
every skipped one its reason. At 1400 px: what failed comes first, every link lands,
nothing is wider than the window.
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
    found += [f"a link to #{target} lands nowhere" for target in view.broken_links]
    if view.overflow_px:
        found.append(f"the page is {view.overflow_px} px wider than a 1400 px window")
    if view.sections[:1] != (f"Failed ({sum(s.outcome == 'failed' for s in results.scenarios)})",):
        found.append(f"the page does not start with what failed: {view.sections[:2]}")
    if (page.parent / "mermaid.min.js").is_file() and view.diagrams_drawn < view.diagrams:
        found.append(f"only {view.diagrams_drawn} of {view.diagrams} architecture diagrams "
                     "were drawn by Mermaid")
    return found
