"""The harness's own pytest plumbing, run in pytest subprocesses like a user would.

Covers teardown after a pass, a failure and Ctrl-C; skips that name the
missing component; --require-all; and unknown steps.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from obsharness.binaries import BinaryNotFoundError, cache_dir, resolve
from obsharness.stack.manifest import default_manifest_path, load_manifest
from tests.conftest import ROOT
from tests.helpers import assert_all_gone

pytestmark = pytest.mark.slow

USES_STACK = '''
import json, os, time
from pathlib import Path

def test_uses_stack(stack):
    Path("pids.json").write_text(json.dumps(stack.pids()))
    if os.environ["MODE"] == "hang":
        time.sleep(120)
'''


def _project(tmp_path: Path, test_source: str) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (tmp_path / "test_it.py").write_text(test_source)
    return tmp_path


def _env(**extra: str) -> dict[str, str]:
    # A stack copied elsewhere keeps this checkout's binary cache (its own would be empty).
    env = {"OBSHARNESS_CACHE": str(cache_dir()), **os.environ,
           "OBSHARNESS_STACK": str(ROOT / "stack" / "stack.yaml"), **extra}
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _pytest(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", *args], cwd=folder, env=_env(**env),
        capture_output=True, text=True, timeout=300, check=False,
    )


# A pass then a failure, in one session that shares one stack (the session ends on the
# failure); the signals with a part of the stack that still has a component with
# children of its own (gunicorn's workers in flask-app).
PASS_THEN_FAIL = '''
import json
from pathlib import Path

def test_1_passes(stack):
    Path("pids-pass.json").write_text(json.dumps(stack.pids()))

def test_2_fails(stack):
    Path("pids-fail.json").write_text(json.dumps(stack.pids()))
    assert False, "deliberate failure"
'''
PART = ("--stack-only", "prometheus,flask-app")


def test_no_process_survives_a_pass_or_a_failure(tmp_path: Path) -> None:
    folder = _project(tmp_path, PASS_THEN_FAIL)
    result = _pytest(folder, "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 1 passed" in result.stdout, result.stdout
    pids = json.loads((folder / "pids-pass.json").read_text())
    assert json.loads((folder / "pids-fail.json").read_text()) == pids  # one stack, shared
    # Every required component ran; optional ones (Loki, agents, Grafana) only
    # where this machine has their binaries, so they may or may not be there.
    manifest = load_manifest(default_manifest_path())
    required = {c.name for c in manifest.components.values() if not c.optional}
    assert required <= set(pids) <= set(manifest.components), sorted(pids)
    assert_all_gone(pids.values())


def _interruptible() -> None:  # pragma: no cover - runs in the child
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_no_process_survives_ctrl_c_or_sigterm_during_a_scenario(
    tmp_path: Path, sig: signal.Signals
) -> None:
    folder = _project(tmp_path, USES_STACK)
    # Unbuffered, with faulthandler: should it ever hang, the threads' stacks say where.
    # SIGINT as a terminal's Ctrl-C finds it: a run started in the background of a
    # shell without job control inherits SIGINT ignored, and Python then keeps it
    # ignored (the child slept on through the signal in such a CI run).
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--run-dir", str(tmp_path / "run"), *PART],
        cwd=folder, env=_env(MODE="hang", PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=_interruptible,  # noqa: PLW1509 - the test's own thread, before exec
    )
    try:
        deadline = time.monotonic() + 60
        while not (folder / "pids.json").exists():
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the stack never started"
            time.sleep(0.1)
        time.sleep(0.3)
        proc.send_signal(sig)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler dumps every thread's stack
            pytest.fail("no exit 60 s after the signal; where it hung:\n" +
                        proc.communicate(timeout=30)[0][-8000:])
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, output  # pytest's "interrupted"
    assert "KeyboardInterrupt" in output
    assert_all_gone(json.loads((folder / "pids.json").read_text()).values())


def test_missing_component_skips_with_reason_and_require_all_fails(tmp_path: Path) -> None:
    folder = _project(tmp_path, "def test_needs_stack(stack):\n    pass\n")
    missing = str(tmp_path / "no-prometheus-here")
    skipped = _pytest(folder, "--run-dir", str(tmp_path / "run"),
                      OBSHARNESS_PROMETHEUS_BIN=missing)
    assert skipped.returncode == 0, skipped.stdout
    assert "1 skipped" in skipped.stdout
    assert "prometheus unavailable" in skipped.stdout
    assert "How to get it" in skipped.stdout
    failed = _pytest(folder, "--run-dir", str(tmp_path / "run"), "--require-all",
                     OBSHARNESS_PROMETHEUS_BIN=missing)
    assert failed.returncode == 1, failed.stdout
    assert "--require-all: prometheus unavailable" in failed.stdout


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    folder = _project(tmp_path, "def test_needs_stack(stack):\n    pass\n")
    result = _pytest(folder, "--time-scale", "0.5")
    assert "--time-scale must be >= 1" in result.stdout + result.stderr
    result = _pytest(folder, "--stack-port", "prometheus")
    assert "--stack-port expects COMPONENT=PORT" in result.stdout + result.stderr


def test_a_step_nobody_defined_fails_the_collection_naming_file_line_and_neighbours(
    tmp_path: Path
) -> None:
    folder = _project(tmp_path, (
        "from pytest_bdd import given, scenarios\n"
        "@given('the stack is running')\n"
        "def running():\n    pass\n"
        "scenarios('x.feature')\n"))
    (folder / "x.feature").write_text(
        "Feature: X\n  Scenario: Y\n    Given the stack is running\n"
        "  Scenario: Z\n    Given the stack is runing\n"
    )
    result = _pytest(folder, "--collect-only")
    output = result.stdout + result.stderr
    assert result.returncode == 4, output  # a usage error: nothing runs
    assert ('x.feature:5: Given "the stack is runing" matches no step definition; closest '
            'defined: "the stack is running"') in output
    assert "1 step(s) match no step definition" in output


def test_a_teams_own_feature_file_is_collected(tmp_path: Path) -> None:
    features = tmp_path / "features"
    shutil.copytree(ROOT / "features", features)
    (features / "our_team.feature").write_text(
        "Feature: Our team's checkout service\n"
        "  Scenario: The checkout alerts reach us\n"
        "    Given the observability stack is running\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-o", f"bdd_features_base_dir={features}", "steps/test_scenarios.py"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    collected = [line for line in result.stdout.splitlines() if "::test_" in line]
    assert "steps/test_scenarios.py::test_the_checkout_alerts_reach_us" in collected
    # Every scenario of the sample features is still there beside it.
    sample = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert len(collected) == 1 + sum("::test_" in line for line in sample.stdout.splitlines())
    # @logs scenarios run once per log agent (the harness's pytest_bdd_apply_tag; pytest-bdd
    # has its own, which must not win whatever order the plugins load in).
    assert "steps/test_scenarios.py::test_every_request_leaves_one_access_line_in_loki_counted_" \
        "within_1[promtail]" in collected
    assert "steps/test_scenarios.py::test_every_request_leaves_one_access_line_in_loki_counted_" \
        "within_1[alloy]" in collected


def _worked_example() -> tuple[str, str]:
    """The rule and the feature of docs/bring-your-own-configs.md's worked example, as
    the page shows them: the page's example is what this test runs."""
    page = (ROOT / "docs" / "bring-your-own-configs.md").read_text()
    section = page.split("## Worked example: adding an alert", 1)[1].split("\n## ", 1)[0]
    rules = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    feature = section.split("```gherkin\n", 1)[1].split("```", 1)[0]
    return rules, feature


@pytest.mark.parametrize(("fires", "passes"), [("7m45s", True), ("7m30s", False)])
def test_the_docs_worked_example_a_teams_rule_and_its_timing_table(
    tmp_path: Path, fires: str, passes: bool
) -> None:
    """docs/bring-your-own-configs.md's worked example: a rule file and a feature file of
    a team's, run by the harness as the page shows them; a wrong time in the table fails."""
    stack = tmp_path / "stack"
    shutil.copytree(ROOT / "stack", stack, ignore=shutil.ignore_patterns("node_modules"))
    rules, feature = _worked_example()
    (stack / "prometheus" / "rules" / "our-team.yml").write_text(rules)
    features = tmp_path / "features"
    features.mkdir()
    assert "| 7m45s | HighMemory |" in feature
    (features / "our_team.feature").write_text(feature.replace("| 7m45s | HighMemory |",
                                                               f"| {fires} | HighMemory |"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-o", f"bdd_features_base_dir={features}", "steps/test_scenarios.py",
         f"--run-dir={tmp_path / 'reports' / 'run'}",  # its report stays in tmp_path
         f"--junitxml={tmp_path / 'j.xml'}", f"--cucumberjson={tmp_path / 'c.json'}"],
        cwd=ROOT, env=_env(OBSHARNESS_STACK=str(stack / "stack.yaml")),
        capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    if passes:
        assert result.returncode == 0, output
        assert "1 passed" in output
    else:
        assert result.returncode == 1, output
        assert "HighMemory" in output


def _collected(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", *args], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return {line.strip() for line in done.stdout.splitlines() if "::test_" in line}


def test_the_scenarios_split_over_runners_by_their_recorded_durations() -> None:
    """pytest-split with the committed .test_durations: every scenario in exactly one
    group, and the groups' recorded seconds balanced."""
    every = _collected()
    recorded = json.loads((ROOT / ".test_durations").read_text())
    groups = [_collected("--splits", "2", "--group", str(g), "--splitting-algorithm",
                         "least_duration") for g in (1, 2)]
    assert groups[0].isdisjoint(groups[1])
    assert groups[0] | groups[1] == every
    known = sum(recorded.values()) / max(len(recorded), 1)
    seconds = [sum(recorded.get(nodeid, known) for nodeid in group) for group in groups]
    assert max(seconds) <= 0.6 * sum(seconds), seconds


PARALLEL = '''
import json, os
from pathlib import Path
import pytest

@pytest.mark.parametrize("n", [0, 1])
def test_uses_stack(stack, n):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    Path(f"stack-{worker}.json").write_text(json.dumps({
        "pids": stack.pids(), "prometheus": stack.url("prometheus"),
        "run_dir": str(stack.run_dir)}))
'''


def test_parallel_workers_each_start_their_own_stack_and_leave_nothing(tmp_path: Path) -> None:
    folder = _project(tmp_path, PARALLEL)
    result = _pytest(folder, "-n", "2", "--run-dir", str(tmp_path / "run"),
                     "--stack-only", "prometheus")
    assert result.returncode == 0, result.stdout + result.stderr
    stacks = [json.loads(p.read_text()) for p in sorted(folder.glob("stack-gw*.json"))]
    assert len(stacks) == 2, result.stdout
    assert stacks[0]["prometheus"] != stacks[1]["prometheus"]
    assert [Path(s["run_dir"]).name for s in stacks] == ["gw0", "gw1"]
    assert_all_gone([pid for s in stacks for pid in s["pids"].values()])


def test_parallel_runs_refuse_what_one_stack_per_worker_cannot_share(tmp_path: Path) -> None:
    folder = _project(tmp_path, PARALLEL)
    pinned = _pytest(folder, "-n", "2", "--stack-port", "prometheus=40000")
    assert pinned.returncode == 4, pinned.stdout + pinned.stderr
    assert "with -n every worker starts its own stack" in pinned.stdout + pinned.stderr
    external = _pytest(folder, "-n", "2", "--stack-backend", "external")
    assert external.returncode == 4, external.stdout + external.stderr
    assert "run it serially (-n 0)" in external.stdout + external.stderr


# The components no registry here ships: a machine without them (every user's, before
# the first release download) must see their tests skip, never error.
OPTIONAL = "loki,promtail,alloy,grafana"


def _installed(name: str) -> bool:
    try:
        resolve(name, allow_install=False)
    except BinaryNotFoundError:
        return False
    return True


def test_without_loki_promtail_alloy_and_grafana_nothing_errors_at_set_up(
        tmp_path: Path) -> None:
    """Collection and every fixture's set-up, library tests and scenarios, with the
    optional components hidden ($OBSHARNESS_ABSENT): a test that needs one and forgets
    to skip fails here, on every machine, not only on one without Loki."""
    present = [name for name in OPTIONAL.split(",") if _installed(name)]
    if not present:
        # 60 s of two busy cores spent proving what this very run proves.
        pytest.skip(f"{OPTIONAL} are all absent on this machine: this run sets up every "
                    "test and scenario without them, which is this test's proof; it hides "
                    "them on a machine that has some")
    me = "tests/test_harness_plumbing.py::" + \
        test_without_loki_promtail_alloy_and_grafana_nothing_errors_at_set_up.__name__
    env = {k: v for k, v in _env(OBSHARNESS_ABSENT=OPTIONAL).items()
           if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "steps", "--setup-only", "-q", "-rs",
         "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "addopts=", "--strict-markers",
         "-m", "not mutation_smoke", "--deselect", me, "--run-dir", str(tmp_path / "run")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400, check=False)
    # --setup-only prints every test's plan: show the errors, not the plan.
    output = result.stdout[result.stdout.find("= ERRORS ="):] + result.stderr
    summary = (result.stdout.strip().splitlines() or [""])[-1]
    assert result.returncode == 0, output[-6000:]
    assert " error" not in summary, output[-6000:]
    assert "failed" not in summary, output[-6000:]
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    hidden = [line for line in skips if "$OBSHARNESS_ABSENT" in line]
    # Not vacuous: the switch took effect, and each such skip says how to get the component.
    assert hidden, output[-3000:]
    assert all("o get it" in line for line in hidden), "\n".join(hidden)
    assert not [line for line in skips if "not part of this run" in line], "\n".join(skips)


OWN_LOKI_STACK = '''
import pytest
from obsharness.stack.manifest import default_manifest_path, load_manifest
from obsharness.stack.process import ProcessStack

@pytest.fixture
def own_loki(tmp_path):
    with ProcessStack(load_manifest(default_manifest_path()), tmp_path, time_scale=60,
                      only=["loki"]) as stack:
        yield stack.url("loki")

def test_needs_its_own_loki(own_loki):
    pass
'''


def test_a_fixture_whose_component_is_missing_skips_the_test_naming_it(tmp_path: Path) -> None:
    folder = _project(tmp_path, OWN_LOKI_STACK)
    skipped = _pytest(folder, OBSHARNESS_ABSENT="loki")
    assert skipped.returncode == 0, skipped.stdout
    assert "1 skipped" in skipped.stdout, skipped.stdout
    assert "loki unavailable" in skipped.stdout
    assert "How to get it" in skipped.stdout
    failed = _pytest(folder, "--require-all", OBSHARNESS_ABSENT="loki")
    assert failed.returncode == 1, failed.stdout
    assert "--require-all: loki unavailable" in failed.stdout


LONG_WAIT = '''
import time
from obsharness.waiting import eventually

def test_waits() -> None:
    began = time.monotonic()
    eventually(lambda: time.monotonic() - began, lambda t: t > 1.5, what="the slow thing",
               timeout=20, interval=0.1)
'''


@pytest.mark.slow
def test_progress_reaches_the_terminal_while_pytest_captures(tmp_path: Path) -> None:
    """`obsharness validate` sets OBSHARNESS_PROGRESS: a long wait says what it waits for
    while it waits, through pytest's capture, serially and from an xdist worker."""
    folder = _project(tmp_path, LONG_WAIT)
    for args in ((), ("-n", "1")):
        result = _pytest(folder, "-q", *args, OBSHARNESS_PROGRESS="1",
                         OBSHARNESS_PROGRESS_EVERY_S="1")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "... waiting for the slow thing: 1 s of 20 s" in result.stderr, \
            result.stdout + result.stderr
    quiet = _pytest(folder, "-q")
    assert "waiting for the slow thing" not in quiet.stdout + quiet.stderr


WARNS = '''
import warnings
from obsharness.errors import ADVICE_WARNINGS, DashboardAdviceWarning, ObsharnessWarning

def test_advice_is_shown():
    for category in ADVICE_WARNINGS:
        warnings.warn("advice", category)

def test_another_harness_warning_fails():
    warnings.warn("not advice", ObsharnessWarning)

def test_dashboard_advice():
    warnings.warn("style", DashboardAdviceWarning)
'''


def test_the_plugin_brings_its_warning_policy_and_the_projects_own_lines_win(
        tmp_path: Path) -> None:
    """A team's pytest.ini needs no filterwarnings list of the harness's classes."""
    folder = _project(tmp_path, WARNS)
    shown = _pytest(folder, "-q")
    assert "1 failed, 2 passed" in shown.stdout, shown.stdout
    assert "test_another_harness_warning_fails" in shown.stdout
    (folder / "pytest.ini").write_text(
        "[pytest]\naddopts = -p no:cacheprovider\nfilterwarnings =\n"
        "    error::obsharness.errors.DashboardAdviceWarning\n")
    strict = _pytest(folder, "-q")
    assert "3 failed" in strict.stdout, strict.stdout


def test_sigterm_unwinds_like_ctrl_c_where_nobody_handles_it() -> None:
    """bench, mutate and the plugin share it: a `timeout` left a bench's temp dir behind."""
    from obsharness.interrupts import unwind_on_sigterm

    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        unwind_on_sigterm()
        with pytest.raises(KeyboardInterrupt, match="signal 15"):
            signal.raise_signal(signal.SIGTERM)
        # A handler someone else installed is kept.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        unwind_on_sigterm()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)
