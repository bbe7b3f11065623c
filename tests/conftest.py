"""Fixtures for the library's unit tests: copies of stack/ to mutate, the real manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from obsharness.stack.manifest import Manifest, load_manifest

ROOT = Path(__file__).resolve().parents[1]
STACK = ROOT / "stack"


@pytest.fixture
def stack_copy(tmp_path: Path) -> Path:
    """A throw-away copy of stack/ that a test may break on purpose."""
    target = tmp_path / "stack"
    shutil.copytree(STACK, target, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    return target


@pytest.fixture
def manifest() -> Manifest:
    return load_manifest(STACK / "stack.yaml")
