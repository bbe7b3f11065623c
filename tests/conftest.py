"""Fixtures for the library's unit tests: copies of stack/ to mutate, the real manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from obsharness.stack.manifest import Manifest, load_manifest

ROOT = Path(__file__).resolve().parents[1]
STACK = ROOT / "stack"


@pytest.fixture(autouse=True)
def _own_scrape_needs(monkeypatch: pytest.MonkeyPatch,
                      tmp_path_factory: pytest.TempPathFactory) -> None:
    """What a test's scrapes measured stays that test's: a scenario run by a test would
    otherwise record into the project's .cache/ and change every later render of stack/
    (a CI run's unit phase caught a postgres need of 0.273 s changing test_render)."""
    folder = tmp_path_factory.mktemp("scrape-needs", numbered=True)
    monkeypatch.setenv("OBSHARNESS_SCRAPE_NEEDS", str(folder / "scrape-needs.json"))


@pytest.fixture
def stack_copy(tmp_path: Path) -> Path:
    """A throw-away copy of stack/ that a test may break on purpose."""
    target = tmp_path / "stack"
    shutil.copytree(STACK, target, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    return target


@pytest.fixture
def manifest() -> Manifest:
    return load_manifest(STACK / "stack.yaml")
