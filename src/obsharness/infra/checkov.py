"""checkov, the field's infrastructure scanner, on Terraform, Ansible and Dockerfiles.

Runs offline (`--skip-download`: no Bridgecrew platform, no network) and reads
its JSON. A scan passes when no check fails, every skip in the code carries
its reason (`#checkov:skip=ID:reason`: a bare skip is a blind spot), checkov
parsed every file and found something to check (an empty or mistyped folder
proves nothing). checkov lives in its own virtualenv (`make setup` creates
.venv-checkov): it pins libraries the harness's own tools need newer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsharness.binaries import project_root
from obsharness.errors import ComponentUnavailableError, ObsharnessError
from obsharness.report import evidence

CHECKOV_ENV = "OBSHARNESS_CHECKOV"
CHECKOV_VENV = ".venv-checkov"
FRAMEWORKS = ("terraform", "ansible", "dockerfile")
HOW_TO_GET = (f"`make setup` installs it into {CHECKOV_VENV}/ (pip install checkov in a "
              f"virtualenv of its own), or set {CHECKOV_ENV} to a checkov executable")
# What checkov writes in a skip that gave no reason.
_NO_REASON = {"", "no comment provided"}


class CheckovError(ObsharnessError):
    """checkov could not run or its output was not the JSON it documents."""


@dataclass(frozen=True)
class Finding:
    check_id: str
    name: str
    file: str
    lines: tuple[int, int]
    resource: str
    reason: str = ""  # for skips: what the code says

    def __str__(self) -> str:
        where = f"{self.file}:{self.lines[0]}-{self.lines[1]}"
        return f"{where}: {self.check_id} {self.name} ({self.resource})"


@dataclass
class Scan:
    framework: str
    directory: Path
    passed: int = 0
    resources: int = 0
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    parsing_errors: list[str] = field(default_factory=list)

    @property
    def unjustified_skips(self) -> list[Finding]:
        return [s for s in self.skipped if s.reason.strip().lower() in _NO_REASON]

    def problems(self, skips: bool = True) -> list[str]:
        """What makes the scan fail; `skips=False` leaves out skips without a reason
        (a scenario step of their own)."""
        found = [f"failed: {f}" for f in self.failed]
        if skips:
            found += [f"skipped without a reason (#checkov:skip=ID:reason): {s}"
                      for s in self.unjustified_skips]
        found += [f"checkov could not parse {p}" for p in self.parsing_errors]
        if not found and self.resources == 0 and self.passed == 0:
            found.append(f"checkov found nothing to check for {self.framework} in "
                         f"{self.directory}: a wrong folder proves nothing")
        return found


def find_checkov() -> Path:
    """$OBSHARNESS_CHECKOV, the project's .venv-checkov, or PATH."""
    explicit = os.environ.get(CHECKOV_ENV)
    if explicit:
        if Path(explicit).is_file() and os.access(explicit, os.X_OK):
            return Path(explicit)
        raise CheckovError(f"${CHECKOV_ENV}={explicit} is not an executable file")
    venv = project_root() / CHECKOV_VENV / "bin" / "checkov"
    if venv.is_file():
        return venv
    found = shutil.which("checkov")
    if found:
        return Path(found)
    raise ComponentUnavailableError(
        component="checkov", reason=f"not in {venv.parent} nor on PATH", how_to_get=HOW_TO_GET)


def _finding(raw: dict[str, Any], root: Path) -> Finding:
    lines = raw.get("file_line_range") or [0, 0]
    file = str(raw.get("file_path") or "?").lstrip("/")
    return Finding(check_id=str(raw.get("check_id")), name=str(raw.get("check_name")),
                   file=str(root / file), lines=(int(lines[0]), int(lines[-1])),
                   resource=str(raw.get("resource")),
                   # A skip's reason sits in check_result (top level in older releases).
                   reason=str(raw.get("suppress_comment")
                              or (raw.get("check_result") or {}).get("suppress_comment") or ""))


def parse(output: str, framework: str, directory: Path) -> Scan:
    """checkov's `-o json` for one framework: a report object, or only a summary when
    there was nothing to scan."""
    try:
        data = json.loads(output)
    except ValueError:
        raise CheckovError(f"checkov ({framework}, {directory}) did not print JSON: "
                           f"{output.strip()[-1500:] or 'no output'}") from None
    if isinstance(data, list):  # several report types: keep this framework's
        data = next((d for d in data if d.get("check_type") == framework), {})
    scan = Scan(framework=framework, directory=directory)
    summary = data.get("summary", data)
    scan.passed = int(summary.get("passed", 0))
    scan.resources = int(summary.get("resource_count", 0))
    results = data.get("results") or {}
    scan.failed = [_finding(r, directory) for r in results.get("failed_checks") or []]
    scan.skipped = [_finding(r, directory) for r in results.get("skipped_checks") or []]
    scan.parsing_errors = [str(e) for e in results.get("parsing_errors") or []]
    if int(summary.get("parsing_errors", 0)) and not scan.parsing_errors:
        scan.parsing_errors = [f"{summary['parsing_errors']} file(s) under {directory}"]
    return scan


def scan(directory: Path, framework: str, skip_paths: tuple[str, ...] = ("node_modules",),
         checkov: Path | None = None) -> Scan:
    """One framework over one folder, offline; the evidence lists failures and skips."""
    if framework not in FRAMEWORKS:
        raise CheckovError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}")
    if not directory.is_dir():  # checkov itself only logs this and reports success
        raise CheckovError(f"checkov ({framework}): {directory} is not a folder")
    argv = [str(checkov or find_checkov()), "-d", str(directory), "--framework", framework,
            "--skip-download", "--compact", "-o", "json"]  # no --quiet: it drops the skips
    for path in skip_paths:
        argv += ["--skip-path", path]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        raise CheckovError(f"checkov ({framework}, {directory}) took more than 300 s") from None
    if done.returncode not in (0, 1):  # 1: some check failed
        raise CheckovError(f"checkov ({framework}, {directory}) exited {done.returncode}: "
                           f"{(done.stderr or done.stdout).strip()[-1500:]}")
    result = parse(done.stdout, framework, directory)
    evidence.record("check", f"checkov --framework {framework} {directory.name}", {
        "passed": result.passed, "failed": [str(f) for f in result.failed],
        "skipped": [f"{s} — {s.reason}" for s in result.skipped]})
    return result
