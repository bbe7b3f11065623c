"""Silencing a check by id, for a file, rule, route or panel, always with a reason:
findings-allowlist.yml beside the manifest.

    - check: dashboards/style
      file: vendor/dashboards/*.json     # a glob, relative to the repository (optional)
      subject: advice panel-units-rule   # a part of the rule/route/panel (optional)
      reason: the upstream mixin's dashboards; we do not restyle them

An entry with `severity: error` does the opposite: a team that asks for it makes a
warning of its own files an error (third parties' style never is one by default).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace
from pathlib import Path

from obsharness.config_files import load_yaml
from obsharness.errors import ConfigError
from obsharness.findings.catalog import BY_ID
from obsharness.findings.model import Finding, relative

ALLOWLIST = "findings-allowlist.yml"


@dataclass(frozen=True)
class Entry:
    check: str
    file: str
    subject: str
    reason: str
    severity: str = ""  # "error": raise the matching findings instead of silencing them

    def covers(self, finding: Finding, root: Path) -> bool:
        if finding.check != self.check:
            return False
        if self.file and (finding.path is None or not fnmatch.fnmatch(
                relative(finding.path, root), self.file)):
            return False
        return not self.subject or self.subject in finding.subject


def load(folder: Path) -> list[Entry]:
    path = folder / ALLOWLIST
    if not path.is_file():
        return []
    raw = load_yaml(path, "obsharness") or []
    if not isinstance(raw, list):
        raise ConfigError(component="obsharness", path=path, checked_with="findings allowlist",
                          detail="expected a list of {check, file, subject, reason} entries")
    entries = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("check") or not item.get("reason"):
            raise ConfigError(component="obsharness", path=path,
                              checked_with="findings allowlist",
                              detail=f"entry {index + 1}: every entry names a check and its "
                              f"reason, got {item!r}")
        if item["check"] not in BY_ID:
            raise ConfigError(component="obsharness", path=path,
                              checked_with="findings allowlist",
                              detail=f"entry {index + 1}: no check {item['check']!r}; the "
                              f"checks are {', '.join(sorted(BY_ID))}")
        if item.get("severity") not in (None, "error"):
            raise ConfigError(component="obsharness", path=path,
                              checked_with="findings allowlist",
                              detail=f"entry {index + 1}: severity can only be raised to "
                              f"error, got {item['severity']!r}")
        entries.append(Entry(str(item["check"]), str(item.get("file") or ""),
                             str(item.get("subject") or ""), str(item["reason"]),
                             str(item.get("severity") or "")))
    return entries


def apply(findings: list[Finding], entries: list[Entry], root: Path) -> list[Finding]:
    """Every finding, those an entry covers marked with its reason."""
    out = []
    for finding in findings:
        entry = next((e for e in entries if e.covers(finding, root)), None)
        if entry is None:
            out.append(finding)
        elif entry.severity == "error":
            out.append(replace(finding, severity="error"))
        else:
            out.append(replace(finding, allowed_because=entry.reason))
    return out
