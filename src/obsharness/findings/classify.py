"""What the static checks produce (ConfigErrors, warnings, dashboard problems, promtool
lint), as findings with a check id, a severity and a location."""

from __future__ import annotations

import re
from pathlib import Path

from obsharness import errors, origins
from obsharness.dashboards import Problem
from obsharness.errors import ConfigError
from obsharness.findings.catalog import TOOLS, WARNINGS, get
from obsharness.findings.checks import dashboards
from obsharness.findings.model import Finding, Severity
from obsharness.toolchecks import LintFinding

# A message that starts with the file it is about: "stack/x.yml:12: ..." or
# "path/board.json:1 (ConfigMap x key y.json): ...".
_LOCATED = re.compile(r"^(?P<path>\S+?\.(?:ya?ml|json|jsonnet|libsonnet|alloy))"
                      r"(?::(?P<line>\d+))?(?P<rest>.*)$", re.DOTALL)

def located(message: str) -> tuple[Path | None, int | None]:
    found = _LOCATED.match(message.strip())
    if not found:
        return None, None
    return Path(found["path"]), int(found["line"]) if found["line"] else None


def from_error(exc: errors.ObsharnessError) -> Finding:
    if not isinstance(exc, ConfigError):
        return Finding("config/parse", "error", str(exc))
    check = exc.check or _check_of_tool(exc.checked_with or "", exc.component)
    return Finding(check, get(check).severity, exc.detail, exc.path, exc.line)


def _check_of_tool(tool: str, component: str) -> str:
    for needle, check in TOOLS:
        if needle in tool:
            return check
    if component in ("loki", "promtail", "alloy"):
        return "loki/config"
    return {"alertmanager": "alertmanager/config", "prometheus": "prometheus/config",
            "grafana": "dashboards/invalid"}.get(component, "config/parse")


def from_warning(category: type[Warning], message: str) -> Finding:
    check = dashboards.warning_check(message) or next(
        (c for kind, c in WARNINGS if issubclass(category, kind)), "sources/advice")
    path, line = located(message)
    return Finding(check, get(check).severity, message, path, line)


def from_dashboard(problem: Problem, *, advice: bool = False) -> Finding:
    message = problem.message
    check = dashboards.problem_check(message, advice=advice)
    path, line = located(str(problem.dashboard))
    panel = f"panel '{problem.panel}'" if problem.panel else ""
    subject = ", ".join(s for s in (panel, f"advice {problem.advice}" if problem.advice else "")
                        if s)
    query = f" (query: {problem.query})" if problem.query else ""
    return Finding(check, get(check).severity, message + query,
                   path or Path(str(problem.dashboard)), line, subject)


def from_lint(finding: LintFinding, *, fatal: bool) -> Finding:
    severity: Severity = "error" if fatal else "warning"
    labels = f" with labels {', '.join(finding.labels)}" if finding.labels else ""
    origin = origins.lookup(finding.file)  # an extracted file is named by the team's own
    return Finding("rules/lint", severity, finding.message,
                   origin.file if origin else finding.file, origin.line if origin else None,
                   f"rule {finding.rule}{labels}")


def from_unloaded(message: str, base: Path) -> Finding:
    """rule_sources.unloaded() names files relative to the folder above the manifest's."""
    path, line = located(message)
    return Finding("sources/unloaded", "error", message, base / path if path else None, line)
