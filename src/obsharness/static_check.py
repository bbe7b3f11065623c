"""`obsharness check`: every static check in seconds, with no stack and no pytest — what a
pre-commit hook runs, as teams run promtool and pint. Each finding keeps the tool's own
message and names file and line; advice is printed apart and never fails the check."""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from obsharness import dashboard_sources, dashboards, origins, rule_sources, toolchecks
from obsharness.errors import ObsharnessError, ObsharnessWarning
from obsharness.findings import allowlist, classify
from obsharness.findings.model import Finding
from obsharness.stack.manifest import Manifest
from obsharness.stack.render import validate_sources


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    checks: list[tuple[str, float]] = field(default_factory=list)  # name, seconds

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error" and not f.allowed_because]

    @property
    def advice(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "error" and not f.allowed_because]

    @property
    def allowed(self) -> list[Finding]:
        return [f for f in self.findings if f.allowed_because]

    @property
    def ok(self) -> bool:
        return not self.errors


def _timed(result: CheckResult, name: str, check: Callable[[], list[Finding]]) -> None:
    began = time.monotonic()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", ObsharnessWarning)
        try:
            result.findings += check()
        except ObsharnessError as exc:
            result.findings.append(classify.from_error(exc))
    result.findings += [classify.from_warning(w.category, str(w.message)) for w in said
                        if issubclass(w.category, ObsharnessWarning)]
    result.checks.append((name, time.monotonic() - began))


CHECKS = ("configs", "lint", "unit-tests", "dashboards", "unloaded")


def run(manifest: Manifest, *, lint_fatal: bool = False,
        only: tuple[str, ...] = CHECKS) -> CheckResult:
    """Every static check (or `only` some of them, by their CHECKS name)."""
    result = CheckResult()
    steps: dict[str, tuple[str, Callable[[], list[Finding]]]] = {
        "configs": ("configs (promtool, amtool, routing, lint, rule sources, Loki rules)",
                    lambda: _configs(manifest)),
        "lint": ("promtool rule lint", lambda: _rule_lint(manifest, lint_fatal)),
        "unit-tests": ("promtool rule unit tests", lambda: _unit_tests(manifest)),
        "dashboards": ("dashboards", lambda: _dashboards(manifest)),
        "unloaded": ("files no source loads",
                     lambda: [classify.from_unloaded(m, manifest.stack_dir.parent)
                              for m in rule_sources.unloaded(manifest)]),
    }
    for key in only:
        _timed(result, *steps[key])
    result.findings = allowlist.apply(_once(result.findings, manifest),
                                      allowlist.load(manifest.stack_dir), manifest.project_dir)
    return result


def _once(findings: list[Finding], manifest: Manifest) -> list[Finding]:
    """One finding per mistake: promtool check config judges the rule files it loads
    too (a rule file's error is rules/invalid), and check rules says it again."""
    config = rule_sources.prometheus_config(manifest)
    seen: set[tuple[str, str, int | None, str]] = set()
    out = []
    for said in findings:
        f = replace(said, check="rules/invalid") if (
            said.check == "prometheus/config" and said.path is not None and config is not None
            and said.path.resolve() != config.resolve()) else said
        key = (f.check, str(f.path), f.line, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _configs(manifest: Manifest) -> list[Finding]:
    validate_sources(manifest)
    return []


def _rule_lint(manifest: Manifest, fatal: bool) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="obsharness-check-") as tmp:
        try:
            rule_set = rule_sources.rule_set(manifest, Path(tmp))
            if not rule_set.files:
                return []
            return [classify.from_lint(f, fatal=fatal) for f in toolchecks.lint_findings(
                toolchecks.check_rules(rule_set.files))]
        finally:
            origins.forget(Path(tmp))


def _unit_tests(manifest: Manifest) -> list[Finding]:
    tests = rule_sources.rule_test_files(manifest)
    failed = []
    for folder in sorted({t.parent for t in tests}):  # promtool resolves rule_files per folder
        files = sorted(t for t in tests if t.parent == folder)
        outcome = toolchecks.run_rule_tests(files)
        if not outcome.ok:
            # promtool repeats a broken rule file's error once per test: say it once.
            said = list(dict.fromkeys(ln for ln in outcome.output.splitlines() if ln.strip()))
            failed.append(Finding("rules/unit-test", "error", "\n".join(said[:30]),
                                  files[0] if len(files) == 1 else folder))
    return failed


def _dashboards(manifest: Manifest) -> list[Finding]:
    found = dashboard_sources.boards(manifest)
    out = [Finding("dashboards/skipped", "info", str(s), *classify.located(str(s)))
           for s in found.skipped]
    datasources, assumed = dashboards.datasources_for(
        manifest.stack_dir / "grafana" / "provisioning", found.boards)
    if assumed:
        out.append(Finding("dashboards/datasources-assumed", "info", assumed))
    errors, advice = dashboards.judged(found.boards, datasources, manifest.stack_dir)
    queries = [q for b in found.boards for q in dashboards.queries(b.label, b.data, datasources)]
    errors += dashboards.promql_problems(queries)  # the real parser's refusals: errors
    out += [classify.from_dashboard(p) for p in errors]
    out += [classify.from_dashboard(p, advice=True) for p in advice]
    return out
