"""A real browser on the practical case: Debian's Chromium driven by Playwright.

Playwright is only the driver; the browser is the system's Chromium
(executable_path), never one Playwright downloads.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsharness.errors import ComponentUnavailableError
from obsharness.report import evidence

# Without the background-networking flags Chromium keeps calling home, which a
# closed network refuses loudly; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


@dataclass(frozen=True)
class PageLoad:
    url: str
    status: str
    rows: list[tuple[str, str]]
    api_request_id: str


def chromium_path() -> Path:
    explicit = os.environ.get("OBSHARNESS_CHROMIUM")
    candidates = [explicit] if explicit else ["chromium", "chromium-browser"]
    for candidate in candidates:
        found = shutil.which(candidate) if candidate else None
        if found:
            return Path(found)
    raise ComponentUnavailableError(
        component="chromium",
        reason=f"no Chromium found (tried {', '.join(filter(None, candidates))})",
        how_to_get="apt-get install chromium (Debian's package), or set OBSHARNESS_CHROMIUM",
    )


REPORT_WIDTH_PX = 1400  # the width a team reads the report at (a laptop's window)


@contextlib.contextmanager
def _chromium_page(width: int | None = None) -> Iterator[Any]:
    """One page of Debian's headless Chromium, driven by Playwright; closed after."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ComponentUnavailableError(
            component="playwright", reason="the Python package playwright is not installed",
            how_to_get="pip install -e '.[browser]' (make setup does)",
        ) from None
    executable = chromium_path()
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(executable), headless=True,
                                         args=list(CHROMIUM_ARGS))
        try:
            yield browser.new_page(viewport={"width": width, "height": 900}) if width \
                else browser.new_page()
        finally:
            browser.close()


def load_items_page(url: str, *, timeout_s: float = 20.0) -> PageLoad:
    """Open the React page, wait until it has loaded its items, return what a user sees."""
    with _chromium_page() as page:
        page.goto(url, timeout=timeout_s * 1000)
        status = page.locator("#status")
        status.filter(has_text="loaded").or_(status.filter(has_text="error")).wait_for(
            timeout=timeout_s * 1000
        )
        rows = [
            (row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text())
            for row in page.locator("tr.item").all()
        ]
        loaded = PageLoad(url, status.inner_text(), rows,
                          status.get_attribute("data-request-id") or "")
        evidence.record("check", f"Chromium opened {url}: {loaded.status}",
                        {"rows": rows, "api_request_id": loaded.api_request_id})
        return loaded


@dataclass(frozen=True)
class ReportView:
    """What a reader of reports/index.html sees, as read by a real browser."""

    scenarios: dict[str, dict[str, int | str]]  # article id -> outcome, plots, evidence, reason
    not_proven: list[str]
    diagrams: int = 0  # Mermaid sources on the page
    diagrams_drawn: int = 0  # of them, drawn as SVG by the browser
    sections: tuple[str, ...] = ()  # the page's h2 headings, in order
    broken_links: tuple[str, ...] = ()  # "#id" links whose target is not on the page
    overflow_px: int = 0  # how far the page is wider than the window
    failed: tuple[str, ...] = ()  # the Failed list's entries, as read


def read_report(page_path: Path, *, timeout_s: float = 20.0,
                screenshot: Path | None = None) -> ReportView:
    """Open the static report from disk (file://) in headless Chromium at the width a
    team reads it, and read it; with `screenshot`, keep a full-page picture of it."""
    with _chromium_page(REPORT_WIDTH_PX) as page:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        page.goto(page_path.resolve().as_uri(), timeout=timeout_s * 1000)
        scenarios: dict[str, dict[str, int | str]] = {}
        for article in page.locator("article.scenario").all():
            reason = article.locator("p.reason")
            scenarios[article.get_attribute("data-nodeid") or "?"] = {
                "title": article.locator("h3").inner_text(),
                "outcome": (article.get_attribute("class") or "").split()[-1],
                "plots": article.locator("svg.timeline").count(),
                "plots_visible": sum(1 for svg in article.locator("svg.timeline").all()
                                     if svg.bounding_box()),
                "evidence": article.locator("details.evidence").count(),
                "reason": reason.inner_text() if reason.count() else "",
            }
        # A group's scenarios sit in its fold: read them whether it is open or not.
        not_proven = [d.text_content() or "" for d in page.locator("#not-proven details").all()]
        diagrams = page.locator("pre.mermaid")
        if diagrams.count() and page.locator("script[src='mermaid.min.js']").count():
            # Mermaid draws after load: give it until every diagram is an SVG.
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_function(
                    "n => document.querySelectorAll('pre.mermaid svg').length >= n",
                    arg=diagrams.count(), timeout=timeout_s * 1000)
        layout = page.evaluate("""() => ({
            sections: [...document.querySelectorAll('h2')].map(h => h.innerText),
            broken: [...document.querySelectorAll('a[href^="#"]')]
                .map(a => a.getAttribute('href').slice(1))
                .filter(id => !document.getElementById(id)),
            overflow: document.documentElement.scrollWidth - window.innerWidth,
            failed: [...document.querySelectorAll('#failed li')].map(li => li.innerText),
        })""")
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        return ReportView(scenarios, not_proven, diagrams.count(),
                          page.locator("pre.mermaid svg").count(),
                          tuple(layout["sections"]), tuple(layout["broken"]),
                          max(0, int(layout["overflow"])), tuple(layout["failed"]))
