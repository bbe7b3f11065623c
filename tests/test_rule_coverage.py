"""Rule coverage: every alerting rule gets a line saying what exercised it, every route
which exercised alerts reach it, and --min-rule-coverage fails a run when a rule is
added without a test."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, STACK
from .test_harness_plumbing import _env

pytestmark = pytest.mark.slow

UNTESTED = """\
groups:
  - name: added-later
    rules:
      - alert: NobodyTestsMe
        expr: vector(0) > 1
        labels: {severity: warning}
"""


def _run(stack: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "steps/test_scenarios.py", "-k", "HighErrorRate_has_the_exact",
         f"--run-dir={tmp_path / 'reports' / 'run'}", f"--junitxml={tmp_path / 'j.xml'}",
         f"--cucumberjson={tmp_path / 'c.json'}", *args],
        cwd=ROOT, env=_env(OBSHARNESS_STACK=str(stack / "stack.yaml")),
        capture_output=True, text=True, timeout=300, check=False)


def test_a_rule_added_without_a_test_fails_the_coverage_gate(tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    shutil.copytree(STACK, stack, ignore=shutil.ignore_patterns("node_modules", "__pycache__",
                                                                 "apps"))
    (stack / "apps").symlink_to(STACK / "apps")
    (stack / "prometheus" / "rules" / "later.yml").write_text(UNTESTED)
    failed = _run(stack, tmp_path, "--min-rule-coverage", "0.9")
    out = failed.stdout + failed.stderr
    assert failed.returncode == 1, out
    assert "is under --min-rule-coverage 0.9; not exercised: " in out, out
    assert "NobodyTestsMe" in out.split("not exercised: ")[1], out
    coverage = json.loads((tmp_path / "reports" / "rule-coverage.json").read_text())
    lines = {r["alert"]: r for r in coverage["rules"]}
    assert lines["NobodyTestsMe"]["status"] == "not exercised"
    assert lines["NobodyTestsMe"]["file"].endswith("prometheus/rules/later.yml")
    assert lines["HighErrorRate"]["covered"]
    assert lines["HighErrorRate"]["unit_tests"] == ["alerts.test.yml"]
    assert coverage["total"] == len(coverage["rules"]) > coverage["covered"]
    routes = {r["receiver"] for r in coverage["routes"]}
    assert {"oncall-webhook", "oncall-critical", "api-team-critical"} <= routes
    passed = _run(stack, tmp_path, "--min-rule-coverage", "0.1")
    assert passed.returncode == 0, passed.stdout + passed.stderr
