"""`obsharness check`: every static check in seconds, with no stack and no pytest — what a
pre-commit hook runs, as teams run promtool and pint. Each finding keeps the tool's own
message and names file and line; advice is printed apart and never fails the check."""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from obsharness import dashboard_sources, dashboards, origins, rule_sources, toolchecks
from obsharness.errors import ObsharnessError, ObsharnessWarning
from obsharness.stack.manifest import Manifest
from obsharness.stack.render import validate_sources


@dataclass
class CheckResult:
    errors: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    checks: list[tuple[str, float]] = field(default_factory=list)  # name, seconds

    @property
    def ok(self) -> bool:
        return not self.errors


def _timed(result: CheckResult, name: str, check: Callable[[], list[str]]) -> None:
    began = time.monotonic()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", ObsharnessWarning)
        try:
            result.errors += check()
        except ObsharnessError as exc:
            result.errors.append(str(exc))
    result.advice += [str(w.message) for w in said if issubclass(w.category, ObsharnessWarning)]
    result.checks.append((name, time.monotonic() - began))


def run(manifest: Manifest, *, lint_fatal: bool = False) -> CheckResult:
    result = CheckResult()
    _timed(result, "configs (promtool, amtool, routing, lint, rule sources, Loki rules)",
           lambda: _configs(manifest))
    _timed(result, "promtool rule lint", lambda: _rule_lint(manifest, result, lint_fatal))
    _timed(result, "promtool rule unit tests", lambda: _unit_tests(manifest))
    _timed(result, "dashboards", lambda: _dashboards(manifest, result))
    _timed(result, "files no source loads", lambda: rule_sources.unloaded(manifest))
    return result


def _configs(manifest: Manifest) -> list[str]:
    validate_sources(manifest)
    return []


def _rule_lint(manifest: Manifest, result: CheckResult, fatal: bool) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="obsharness-check-") as tmp:
        try:
            rule_set = rule_sources.rule_set(manifest, Path(tmp))
            if not rule_set.files:
                return []
            lint = [str(f) for f in toolchecks.lint_findings(
                toolchecks.check_rules(rule_set.files))]
        finally:
            origins.forget(Path(tmp))
    if fatal:
        return lint
    result.advice += lint
    return []


def _unit_tests(manifest: Manifest) -> list[str]:
    tests = rule_sources.rule_test_files(manifest)
    failed = []
    for folder in sorted({t.parent for t in tests}):  # promtool resolves rule_files per folder
        outcome = toolchecks.run_rule_tests(sorted(t for t in tests if t.parent == folder))
        if not outcome.ok:
            failed.append(f"promtool test rules in {folder}:\n{outcome.output}")
    return failed


def _dashboards(manifest: Manifest, result: CheckResult) -> list[str]:
    found = dashboard_sources.boards(manifest)
    result.advice += [str(s) for s in found.skipped]
    datasources, assumed = dashboards.datasources_for(
        manifest.stack_dir / "grafana" / "provisioning", found.boards)
    result.advice += [assumed] if assumed else []
    errors, advice = dashboards.judged(found.boards, datasources, manifest.stack_dir)
    queries = [q for b in found.boards for q in dashboards.queries(b.label, b.data, datasources)]
    errors += dashboards.promql_problems(queries)  # the real parser's refusals: errors
    result.advice += dashboards.summarise(advice)
    return dashboards.summarise(errors)
