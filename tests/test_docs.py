"""The documentation in two layers: a short README, a page per topic in docs/, links
that resolve, and examples and --help that are the code's own."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from obsharness import cli_docs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def test_the_readme_is_a_short_entry_point() -> None:
    size = len((ROOT / "README.md").read_bytes())
    assert size <= 10_500, f"README.md is {size} bytes; move reference text to docs/"
    readme = (ROOT / "README.md").read_text()
    for command in ("pip install obsharness", "obsharness init", "pytest"):
        assert command in readme


def test_every_relative_link_resolves_to_a_file_and_a_heading() -> None:
    broken = []
    for page in _pages():
        for target in _LINK.findall(page.read_text()):
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto:
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
                continue
            if anchor and file.suffix == ".md":
                headings = {_slug(h) for h in re.findall(r"(?m)^#+ (.+)$", file.read_text())}
                if anchor not in headings:
                    broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_every_docs_page_is_listed_in_the_index() -> None:
    index = (DOCS / "README.md").read_text()
    pages = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert {p for p in pages if f"]({p})" not in index} == set()


@pytest.mark.skipif(sys.version_info[:2] != (3, 11),
                    reason="argparse's help layout differs between Python versions; the "
                           "page is generated with the project's CI Python, 3.11")
def test_the_commands_page_shows_every_commands_own_help() -> None:
    page = (DOCS / "commands.md").read_text()
    assert page == cli_docs.rendered(page), (
        "docs/commands.md is stale: run `python -m obsharness.cli_docs docs/commands.md`")


def test_the_team_repository_pages_replay_example_is_the_tests_input() -> None:
    page = (DOCS / "team-repository.md").read_text()
    example = page.split("```gherkin\n", 1)[1].split("```", 1)[0]
    fixture = ROOT / "tests" / "fixtures" / "team_repo" / "team-features" / "replay.feature"
    assert example == fixture.read_text()
