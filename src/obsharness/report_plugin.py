"""Pytest side of the living documentation: collects each scenario's steps,
outcome and evidence, then writes reports/results.json, adds the evidence to
reports/cucumber.json and builds reports/index.html at the end of the session.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from obsharness.errors import ObsharnessError
from obsharness.report import coverage, cucumber, diagrams, evidence, html, proof, timeline
from obsharness.report.results import (
    RESULTS_FILE,
    RunResults,
    ScenarioResult,
    StepResult,
    merge,
)
from obsharness.stack import secret_configs
from obsharness.stack.render import RenderedStack


def scenario_template(item: pytest.Item) -> Any:
    """pytest-bdd's scenario template behind a test function, if it is a scenario."""
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    function = getattr(item, "function", None)
    return scenario_wrapper_template_registry.get(function) if function else None


def example_params(item: pytest.Item) -> dict[str, Any]:
    """The Examples row a scenario outline's test runs with ({} for a plain scenario)."""
    callspec = getattr(item, "callspec", None)
    params: dict[str, Any] = callspec.params.get("_pytest_bdd_example", {}) if callspec else {}
    return params


def _variant(item: pytest.Item) -> str:
    """The parameters of a scenario other than its Examples row, in words
    ("log agent promtail"): what the title needs that the rendered name lacks."""
    callspec = getattr(item, "callspec", None)
    params = {k: v for k, v in (callspec.params if callspec else {}).items()
              if k != "_pytest_bdd_example"}
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(params.items()))


def _message(report: pytest.TestReport) -> str:
    """A failure's own words: the exception pytest shows on its `E` lines, without the
    source excerpt of the step or fixture that raised it."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = str(getattr(crash, "message", "") or "")
    if message:
        return message
    lines = str(report.longreprtext).strip().splitlines()
    return lines[-1] if lines else ""


WORKERS_DIR = "workers"


class ReportCollector:
    """In a serial run, collects and writes the report. With pytest-xdist each worker
    saves its results under reports/workers/<id>/ and the controller, which runs no
    scenario, merges them into the one living document."""

    def __init__(self, config: pytest.Config, reports_dir: Path, options: Any,
                 worker: str | None = None, parallel: bool = False) -> None:
        self.config = config
        self.options = options
        self.reports_dir = reports_dir
        self.worker = worker
        self.controller = parallel and worker is None
        self.coverage: dict[str, Any] | None = None
        self.coverage_verdict = ""
        if worker and config.getoption("cucumber_json_path", None):
            # pytest-bdd writes cucumber.json on the controller only, from step reports
            # that do not cross from the workers: each worker writes its own, merged at the end.
            from pytest_bdd.cucumber_json import LogBDDCucumberJSON

            config.pluginmanager.register(
                LogBDDCucumberJSON(str(self.workers_dir / worker / "cucumber.json")),
                "obsharness-worker-cucumber")
        self.results = RunResults()
        self.by_nodeid: dict[str, ScenarioResult] = {}
        self.current: ScenarioResult | None = None
        self.step_index = -1

    # Collection: every scenario is listed, including those that will skip.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            template = scenario_template(item)
            if template is None:
                continue
            scenario = template.render(example_params(item))
            feature = template.feature
            result = ScenarioResult(
                nodeid=item.nodeid, feature=feature.name, feature_file=feature.rel_filename,
                name=scenario.name, feature_description=(feature.description or "").strip(),
                tags=sorted(template.tags | feature.tags),
                steps=[StepResult(s.keyword, s.name, table=[
                    [str(c) for c in row] for row in s.datatable.raw()] if s.datatable else [])
                    for s in scenario.steps],
                variant=_variant(item))
            self.by_nodeid[item.nodeid] = result
            self.results.scenarios.append(result)

    def pytest_bdd_before_scenario(self, request: pytest.FixtureRequest) -> None:
        self.current = self.by_nodeid.get(request.node.nodeid)
        self.step_index = -1
        evidence.begin()

    def pytest_bdd_before_step(self) -> None:
        self.step_index += 1
        evidence.set_step(f"{self.step_index}")

    def pytest_bdd_after_step(self) -> None:
        self._mark("passed")

    def pytest_bdd_step_error(self) -> None:
        self._mark("failed")

    def _mark(self, status: str) -> None:
        if self.current and 0 <= self.step_index < len(self.current.steps):
            self.current.steps[self.step_index].status = status

    def pytest_bdd_after_scenario(self, request: pytest.FixtureRequest) -> None:
        with contextlib.suppress(pytest.FixtureLookupError, ObsharnessError, KeyError):
            self._alert_timeline(request)
        if not self.results.time_compression and "stack" in request.fixturenames:
            with contextlib.suppress(pytest.FixtureLookupError, ObsharnessError):
                self._time_compression(request.getfixturevalue("stack").rendered)
        log = evidence.end()
        if self.current is None or log is None:
            return
        # junit.xml gets the evidence as one readable property (cucumber.json gets it all).
        request.node.user_properties.append(
            ("evidence", "\n".join(f"{e.kind}: {e.title}" for e in log.items)))
        if self.current.timeline:
            t = self.current.timeline
            request.node.user_properties.append(
                ("alert_timeline", f"{t['alert']} {t['service']}: fault {t['fault_at']}, "
                                   f"firing {t['firing_at']}, notified {t['notified_at']}"))
        for item in log.items:
            record = item.to_json()
            index = int(item.step) if item.step is not None else -1
            if 0 <= index < len(self.current.steps):
                self.current.steps[index].evidence.append(record)
            else:
                self.current.evidence.append(record)

    def _time_compression(self, rendered: RenderedStack) -> None:
        """What compression changed in meaning, once per run: the report lists it."""
        self.results.time_compression = {
            "not_equivalent": [str(n) for n in rendered.not_equivalent],
            "horizons": [str(h) for h in rendered.horizons],
            "floors": [str(f) for f in rendered.floors]}
        self.results.stand_ins = list(rendered.redirects)

    def _alert_timeline(self, request: pytest.FixtureRequest) -> None:
        """For a scenario that saw an alert fire: the measure, threshold and times."""
        facts = request.getfixturevalue("scenario_ctx").facts
        fired = facts.get("alert")
        if not fired or self.current is None:
            return
        stack = request.getfixturevalue("stack")
        from obsharness.stack.render import rule_files_of

        rule_files = rule_files_of(stack.rendered.configs["prometheus"])
        start = request.getfixturevalue("scenario_ctx").started_at
        built = timeline.build(
            request.getfixturevalue("prometheus"), rule_files, alert=fired["name"],
            service=fired["service"], start=start, end=time.time(),
            fault_at=facts.get("fault_at"), notified_at=fired.get("notified_at"),
            log_marks=facts.get("log_marks"))
        self.current.timeline = built.to_json()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.by_nodeid.get(report.nodeid)
        if result is None:
            return
        result.duration_s += report.duration
        result.properties.update({str(k): str(v) for k, v in report.user_properties
                                  if k not in ("evidence", "alert_timeline")})
        if report.skipped:
            result.outcome = "skipped"
            longrepr = report.longrepr
            result.reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
            result.reason = result.reason.removeprefix("Skipped: ")
            for step in result.steps:  # the step that skipped did not fail
                if step.status == "failed":
                    step.status = "skipped"
        elif report.failed:
            result.outcome = "failed"
            result.reason = _message(report)[:3000]
            result.traceback = str(report.longreprtext)[-6000:]
        elif report.when == "call" and result.outcome == "unknown":
            result.outcome = "passed"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The run's verdict in words, last thing on the terminal: what a broken config
        kept from running, and "N proven, M not proven (reasons), K failed"."""
        if self.coverage_verdict:
            terminalreporter.write_line(self.coverage_verdict, red=True)
        if self.worker or not any(s.outcome != "unknown" for s in self.results.scenarios):
            return
        not_run: dict[str, int] = {}
        for scenario in self.results.scenarios:
            if scenario.not_run:
                group = html.reason_group(scenario.reason)
                not_run[group] = not_run.get(group, 0) + 1
        terminalreporter.section("obsharness", sep="-")
        for group, count in not_run.items():
            terminalreporter.write_line(
                f"{count} scenario(s) {group} (the failed @static scenario names the "
                "mistake; fix it and they run)", yellow=True)
        terminalreporter.write_line(html.summary_line(self.results), bold=True)

    @property
    def workers_dir(self) -> Path:
        return self.reports_dir / WORKERS_DIR

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        if self.controller:  # a previous run's workers are not this run's
            shutil.rmtree(self.workers_dir, ignore_errors=True)
        elif self.worker:
            (self.workers_dir / self.worker).mkdir(parents=True, exist_ok=True)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._finish()
        if not self.worker and session.exitstatus == pytest.ExitCode.OK and any(
                s.not_run for s in self.results.scenarios):
            # A config no scenario could use is a red run, even when the scenario that
            # names it was not selected.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        minimum = self.config.getoption("min_rule_coverage", None)
        if not self.worker and minimum is not None and self.coverage is not None \
                and self.coverage["ratio"] < minimum:
            left = [r["alert"] for r in self.coverage["rules"] if not r["covered"]]
            self.coverage_verdict = (
                f"rule coverage {self.coverage['covered']} of {self.coverage['total']} "
                f"({self.coverage['ratio']:.0%}) is under --min-rule-coverage {minimum:g}; "
                f"not exercised: {', '.join(left)}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _finish(self) -> None:
        if self.controller:
            parts = sorted(self.workers_dir.glob(f"*/{RESULTS_FILE}"))
            if not parts:
                return
            self.results = merge([RunResults.load(p.parent) for p in parts])
        elif all(s.outcome == "unknown" for s in self.results.scenarios):
            return  # nothing ran (--collect-only, or no scenario selected)
        else:
            self.results.finished_at = time.time()
            self.results.backend = str(self.options.backend)
            self.results.time_scale = float(self.options.time_scale)
            run_dir = self.options.run_dir
            self.results.configs = {str(p.relative_to(run_dir)): str(p) for p in
                                    sorted(run_dir.glob("*/*.y*ml")) if p.is_file()}
            with contextlib.suppress(ObsharnessError, OSError):
                from obsharness.stack.manifest import default_manifest_path, load_manifest

                self.results.alerts = proof.inventory(load_manifest(default_manifest_path()))
        if self.worker:
            self.results.save(self.workers_dir / self.worker)
            return
        self.results.save(self.reports_dir)
        with contextlib.suppress(ObsharnessError, OSError):
            from obsharness.stack.manifest import default_manifest_path, load_manifest

            manifest = load_manifest(default_manifest_path())
            am = next((c for c in manifest.components.values() if c.binary == "alertmanager"),
                      None)
            self.coverage = coverage.compute(
                self.results, coverage.load_replay(self.reports_dir),
                secret_configs.config_path(manifest, am) if am is not None and am.config
                else None)
            coverage.write(self.coverage, self.reports_dir)
        cucumber_path = self.config.getoption("cucumber_json_path", None)
        if cucumber_path and self.controller:
            cucumber.merge(sorted(self.workers_dir.glob("*/cucumber.json")), Path(cucumber_path))
        if cucumber_path:
            cucumber.embed(Path(cucumber_path), self.results)
        html.write(self.results, self.reports_dir, diagrams.all_diagrams())
