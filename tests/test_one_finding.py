"""One mistake, one finding: a receiver typo in alertmanager.yml fails the one scenario
whose subject is the configs' validity; every scenario that needs that config (the stack,
the private Alertmanager's tables, amtool's own check) is "not run", naming the file;
nothing errors, Loki's scenarios included, and the run is red."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, STACK
from .test_harness_plumbing import _env

pytestmark = pytest.mark.slow

SELECTED = " or ".join([
    "every_config_the_stack",  # the finding
    "amtool_accepts",  # a tool's own check of the same file
    "a_silence_of_nodeapps",  # a table the private Alertmanager answers
    "burst_of_failed_logins_raises",  # needs the stack
    "every_request_leaves_one_access_line",  # needs the stack and Loki
])


def _run(stack: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfs",
         "steps/test_scenarios.py", "-k", SELECTED, f"--run-dir={tmp_path / 'reports' / 'run'}",
         f"--junitxml={tmp_path / 'j.xml'}", f"--cucumberjson={tmp_path / 'c.json'}", *args],
        cwd=ROOT, env=_env(OBSHARNESS_STACK=str(stack / "stack.yaml")),
        capture_output=True, text=True, timeout=300, check=False)


def test_a_receiver_typo_is_one_failure_and_the_rest_is_not_run(tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    shutil.copytree(STACK, stack, ignore=shutil.ignore_patterns("node_modules", "__pycache__",
                                                                 "apps"))
    (stack / "apps").symlink_to(STACK / "apps")
    config = stack / "alertmanager" / "alertmanager.yml"
    text = config.read_text()
    assert "      receiver: oncall-critical\n" in text
    config.write_text(text.replace("      receiver: oncall-critical\n",
                                   "      receiver: oncall-critcal\n", 1))
    result = _run(stack, tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    summary = out.strip().splitlines()[-1]
    assert "1 failed" in summary, out
    assert "error" not in summary, out
    assert "FAILED steps/test_scenarios.py::test_every_config_the_stack_deploys_is_one_its_" \
           "components_accept" in out
    # The finding in its own words, not pytest's walk to it.
    assert f'ConfigError: alertmanager: config file {config}:' in out
    assert 'route sends to receiver "oncall-critcal", which is not defined' in out
    assert "fixturefunc" not in out
    not_run = [line for line in out.splitlines() if line.startswith("SKIPPED") and
               f"not run: {config}" in line]
    # amtool's check, the silence table, the stack's scenario, Loki's (two agents).
    assert sum(int(line.split("[")[1].split("]")[0]) for line in not_run) == 5, out
    assert f"scenario(s) not run: {config} is invalid" in out
    assert f"0 proven, 5 not proven (5 not run: {config} is invalid), 1 failed" in out


def test_a_plain_test_on_a_broken_config_still_fails(tmp_path: Path) -> None:
    """Only scenarios turn the refused config into "not run": a team's plain pytest test
    that asks for the stack fails on it, never passes as a skip."""
    from .test_harness_plumbing import _project, _pytest

    stack = tmp_path / "stack"
    shutil.copytree(STACK, stack, ignore=shutil.ignore_patterns("node_modules", "__pycache__",
                                                                 "apps"))
    (stack / "apps").symlink_to(STACK / "apps")
    config = stack / "alertmanager" / "alertmanager.yml"
    config.write_text(config.read_text().replace("      receiver: oncall-critical\n",
                                                 "      receiver: oncall-critcal\n", 1))
    (tmp_path / "project").mkdir()
    folder = _project(tmp_path / "project", "def test_uses_stack(stack):\n    pass\n")
    result = _pytest(folder, "-q", "--run-dir", str(tmp_path / "run"),
                     OBSHARNESS_STACK=str(stack / "stack.yaml"))
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "1 error" in out, out
    assert 'route sends to receiver "oncall-critcal", which is not defined' in out
