"""The pytest side of `obsharness mutate`: one session, one stack, every mutant.

Loaded with `-p obsharness.mutation.session --mutation-plan=PLAN`. Instead of
running each scenario once, the session takes the plan's mutants in turn:
writes the mutant into the workspace's stack/, runs the scenarios that can see
it (static checks first, then the behavioural scenarios that name what the
mutant touched), stops at the first that fails, and puts the file back. The
stack is started once and takes each change in place (`ProcessStack.reload`:
Prometheus and Alertmanager through /-/reload, other components restarted).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _pytest.runner import runtestprotocol

from obsharness.durations import load as load_durations
from obsharness.mutation.layout import layout_of
from obsharness.mutation.model import FLOW_TAGS
from obsharness.report.results import NOT_RUN
from obsharness.stack.manifest import LOG_AGENTS

# Markers of scenarios that only read files: they need no stack and no reload.
FILE_ONLY_TAGS = {"static", "infrastructure"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--mutation-plan", default=None,
                     help="obsharness mutate: the plan of mutants this session runs.")


def pytest_configure(config: pytest.Config) -> None:
    plan = config.getoption("mutation_plan")
    if plan:
        config.pluginmanager.register(MutationSession(Path(plan)), "obsharness-mutation")


@dataclass
class State:
    project: Path
    # Paths relative to the manifest's folder changed since the reload.
    dirty: set[str] = field(default_factory=set)


def components_of(manifest: Any, stack_path: str) -> set[str]:
    """The running components that read a file under stack/: by their config
    folder, their container mounts, or (apps) the source folder in their command."""
    found: set[str] = set()
    for name, comp in manifest.components.items():
        folders = set(comp.container.mounts) if comp.container else set()
        if comp.config:
            folders.add(str(Path(comp.config).parent))
        args = " ".join(comp.process.args) if comp.process else ""
        mounted = any(stack_path == f or stack_path.startswith(f.rstrip("/") + "/")
                      for f in folders)
        runs_from = stack_path.startswith("apps/") and f"apps/{stack_path.split('/')[1]}" in args
        if mounted or runs_from:
            found.add(name)
    if not found and stack_path.startswith("apps/"):
        # Shared code of the apps (a contract module): every app that runs from apps/.
        found = {name for name, comp in manifest.components.items()
                 if comp.process and "apps/" in " ".join(comp.process.args)}
    if not found and _is_rule_file(manifest.stack_dir / stack_path):
        # A team's rules live outside the harness's Prometheus folder: every Prometheus
        # renders them from the manifest's rule sources.
        found = {name for name, comp in manifest.components.items()
                 if comp.binary == "prometheus"}
    return found


def _is_rule_file(path: Path) -> bool:
    from obsharness.mutation import ops_rules, yamltext

    try:
        return ops_rules.is_rule_file(yamltext.compose(path.read_text()))
    except (OSError, UnicodeDecodeError):
        return False


class MutationSession:
    def __init__(self, plan_path: Path) -> None:
        self.plan = json.loads(plan_path.read_text())
        self.results_path = Path(self.plan["results"])
        self.state = State(Path(self.plan["project"]))
        # Mutant paths are the project's; the manifest names files below this folder.
        self.stack_prefix = layout_of(self.state.project).stack_prefix
        self.items: list[pytest.Item] = []
        self._texts: dict[str, str] = {}

    @pytest.fixture(autouse=True)
    def _mutant_in_place(self, request: pytest.FixtureRequest) -> None:
        """Before a scenario that uses the stack: the stack takes the current files."""
        markers = _markers(request.node)
        if not self.state.dirty or markers & FILE_ONLY_TAGS:
            return
        stack = request.getfixturevalue("stack")
        changed = set().union(*(components_of(stack.manifest, p) for p in self.state.dirty))
        self.state.dirty.clear()
        if any(stack.manifest.component(name).binary == "alertmanager" for name in changed):
            # A reload rebuilds Alertmanager's groups: a resolution not flushed yet is
            # lost, and its notification log keeps the alert as notified, firing.
            from obsharness.pytest_plugin import settle_notifications

            settle_notifications(stack, request.getfixturevalue("prometheus"),
                                 request.getfixturevalue("alertmanager"),
                                 request.getfixturevalue("webhook_sink"))
        if stack.reload(sorted(changed)):
            # A restarted app starts its counters afresh, but the rules' windows still
            # hold the old process's samples: a check made now could pass on them. A rule
            # allowed elsewhere reads no series of this stack, so its window (a 1h
            # predict_linear) holds none of them and is not waited for.
            timing = stack.rendered.timing
            elsewhere = _allowed_elsewhere(stack.manifest.stack_dir)
            windows = [ms for alert, ms in timing.alert_window_ms.items()
                       if alert not in elsewhere]
            time.sleep(max(windows, default=0) / 1000 + 2 * timing.scrape_interval_ms / 1000)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.items = list(items)

    def _text(self, item: pytest.Item) -> str:
        """What a scenario says (id, name, steps): asked once per item, not per mutant."""
        if item.nodeid not in self._texts:
            from obsharness.report_plugin import example_params, scenario_template

            template = scenario_template(item)
            words = [item.nodeid, item.nodeid.replace("_", " ")]
            if template is not None:
                scenario = template.render(example_params(item))
                words += [scenario.name, *(step.name for step in scenario.steps)]
            self._texts[item.nodeid] = " ".join(words)
        return self._texts[item.nodeid]

    def candidates(self, mutant: dict[str, Any], durations: dict[str, float]
                   ) -> tuple[list[pytest.Item], list[pytest.Item]]:
        """(static checks, behavioural scenarios) that can see the mutant, best first."""
        tags = set(FLOW_TAGS[mutant["flow"]])
        subjects = [s for s in mutant["subjects"] if s]
        path = mutant["path"]
        # A log agent's config is seen only by the scenarios run with that agent.
        agent = next((a for a in LOG_AGENTS if path.startswith(f"stack/{a}/")), None)
        static, behaviour = [], []
        for item in self.items:
            markers = _markers(item)
            if not markers & tags or "exclusive" in markers:
                continue
            if agent and not markers & FILE_ONLY_TAGS and \
                    not re.search(rf"[\[-]{agent}[\]-]", item.nodeid):
                continue
            if markers & FILE_ONLY_TAGS:
                static.append(item)
                continue
            text = self._text(item)
            # A phrase from a scenario's own words is a stronger hint than one name.
            hits = sum(2 if " " in s else 1 for s in subjects
                       if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text, re.I))
            behaviour.append((-hits, durations.get(item.nodeid, 30.0), item))
        behaviour.sort(key=lambda t: (t[0], t[1]))
        # Those naming what the mutant touched first, then the shortest of the flow;
        # _run stops after scenarios_per_mutant of them have run (skips do not count).
        return static, [item for _, _, item in behaviour]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        durations = load_durations(Path(session.config.rootpath) / ".test_durations")
        deadline = float(self.plan["deadline"])
        results: list[dict[str, Any]] = []
        last, baseline_error = self._baseline()
        for mutant in self.plan["mutants"]:
            if baseline_error and last is not None:
                results.append({"id": mutant["id"], "outcome": "not run",
                                "detail": f"the unmutated stack failed {last.nodeid}, so no "
                                          f"mutant can be judged:\n{baseline_error}",
                                "by": last.nodeid, "unmutated_failure": baseline_error})
                continue
            if time.time() > deadline:
                results.append({"id": mutant["id"], "outcome": "not run",
                                "detail": "the budget ran out first"})
                continue
            static, behaviour = self.candidates(mutant, durations)
            began = time.monotonic()
            self._write(mutant["path"], Path(mutant["mutated_file"]).read_text())
            try:
                result, last = self._run(static, behaviour, last)
            finally:
                self._write(mutant["path"], Path(mutant["original_file"]).read_text())
            if result["outcome"] == "caught by behaviour":
                last = self._confirm(result, last)
            result.update(id=mutant["id"], seconds=round(time.monotonic() - began, 2))
            results.append(result)
            self._save(results)
            if session.shouldstop:
                break
        self._save(results)
        return True

    def _save(self, results: list[dict[str, Any]]) -> None:
        """Whole or not at all: the campaign reads the file while this session runs."""
        partial = self.results_path.with_suffix(".partial")
        partial.write_text(json.dumps(results, indent=1))
        partial.replace(self.results_path)

    def _write(self, path: str, text: str) -> None:
        (self.state.project / path).write_text(text)
        if path.startswith(self.stack_prefix):
            self.state.dirty.add(path[len(self.stack_prefix):])

    def _baseline(self) -> tuple[pytest.Item | None, str | None]:
        """Start the stack on the unmutated files with one behavioural scenario: every
        mutant then arrives by reload, and a suite red before any mutant stops here."""
        item = next((i for i in self.items if _markers(i)
                     & {"metrics", "alerting", "logs", "visualisation", "replay"}
                     and not _markers(i) & {"exclusive", "browser"}), None)
        if item is None:
            return None, None
        reports = self._once(item, None)
        failed = [r for r in reports if r.failed]
        if failed:
            return item, _last_lines(failed[0].longreprtext)
        return item, None

    def _once(self, item: pytest.Item, last: pytest.Item | None) -> list[pytest.TestReport]:
        if last is item:
            item._initrequest()  # type: ignore[attr-defined]  # run it again, afresh
        return runtestprotocol(item, log=False, nextitem=self._keeper(item))

    def _confirm(self, result: dict[str, Any], last: pytest.Item | None) -> pytest.Item | None:
        """A scenario failure counts as a kill only if the same scenario passes on the
        unmutated stack right after: a failure from a loaded machine is no catch."""
        item = next(i for i in self.items if i.nodeid == result["by"])
        began = time.monotonic()
        reports = self._once(item, last)
        result["confirm_s"] = round(time.monotonic() - began, 2)
        failed = [r for r in reports if r.failed]
        if failed:
            result["outcome"] = "undecided"
            result["unmutated_failure"] = _last_lines(failed[0].longreprtext)
            result["detail"] += ("\n-- and on the unmutated stack it failed too:\n"
                                 + result["unmutated_failure"])
        return item

    def _run(self, static: list[pytest.Item], behaviour: list[pytest.Item],
             last: pytest.Item | None) -> tuple[dict[str, Any], pytest.Item | None]:
        tried: list[str] = []
        skipped: list[str] = []
        reasons: dict[str, str] = {}  # skipped scenario -> why
        seconds: dict[str, float] = {}
        limit = int(self.plan.get("scenarios_per_mutant", 3))
        ran_behaviour: list[pytest.Item] = []
        for kind, items in (("validation", static), ("behaviour", behaviour)):
            for item in items:
                if kind == "behaviour" and len(ran_behaviour) >= limit:
                    break
                began = time.monotonic()
                reports = self._once(item, last)
                seconds[item.nodeid] = round(time.monotonic() - began, 2)
                last = item
                tried.append(item.nodeid)
                failed = [r for r in reports if r.failed]
                if failed:
                    # A stack that refused the changed config fails the set-up: validation.
                    how = "validation" if kind == "validation" or failed[0].when == "setup" \
                        else "behaviour"
                    return {"outcome": f"caught by {how}", "by": item.nodeid,
                            "detail": _last_lines(failed[0].longreprtext), "tried": tried,
                            "scenario_s": seconds}, last
                skips = [r for r in reports if r.skipped]
                refused = next((r for r in skips if _skip_reason(r).startswith(NOT_RUN)), None)
                if refused is not None:
                    # The changed config was refused where this scenario needed it (the
                    # stack's start, the private Alertmanager): a run would be red.
                    return {"outcome": "caught by validation", "by": item.nodeid,
                            "detail": _skip_reason(refused), "tried": tried,
                            "scenario_s": seconds}, last
                if kind == "behaviour" and not skips:
                    ran_behaviour.append(item)
                if skips:
                    skipped.append(item.nodeid)
                    reasons.setdefault(item.nodeid, _skip_reason(skips[0]))
        # Out of reach: every scenario that could see it skipped here (Alloy, Grafana).
        seeing = [i.nodeid for i in behaviour if i.nodeid in tried] or \
            [i.nodeid for i in static]
        ran = [t for t in seeing if t not in skipped]
        should = behaviour[0].nodeid if behaviour else None
        result: dict[str, Any] = {"outcome": "survived" if ran else "out of reach",
                                  "tried": tried, "skipped": skipped,
                                  "should_have_caught": should, "scenario_s": seconds}
        if not ran and reasons:
            result["detail"] = next(iter(reasons.values()))
        return result, last

    def _keeper(self, item: pytest.Item) -> pytest.Item | None:
        """An item other than `item`, so its teardown keeps the session's fixtures
        (the stack) but drops its own."""
        return next((other for other in self.items if other is not item), None)


def _allowed_elsewhere(stack_dir: Path) -> set[str]:
    from obsharness.errors import ObsharnessError
    from obsharness.rule_reach import load_allowlist

    try:
        return set(load_allowlist(stack_dir))
    except ObsharnessError:
        return set()


def _markers(item: pytest.Item) -> set[str]:
    return {m.name for m in item.iter_markers()}


def _last_lines(text: str, limit: int = 8) -> str:
    """The end of a failure: the assertion or error message, not the traceback."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(lines[-limit:])


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)
    return reason.removeprefix("Skipped: ")
