"""The tools' own validators: promtool and amtool, with errors that name file and line."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from obsharness import am_matchers, origins
from obsharness.binaries import resolve
from obsharness.errors import ConfigError
from obsharness.report import evidence

# promtool names the file, then line:column when it knows them.
_PROMTOOL_LOCATED = re.compile(
    r"^\s*(?P<file>[^\s:][^:]*\.ya?ml):\s*(?:(?P<line>\d+):\d+:\s*)?(?P<msg>.+)$"
)
_YAML_LINE = re.compile(r"\byaml: line (?P<line>\d+): (?P<msg>.+)")
# Go's YAML decoder lists each unknown or mistyped field on a line of its own
# below "yaml: unmarshal errors:" (promtool and amtool alike).
_FIELD_LINE = re.compile(r"^\s+line (?P<line>\d+): (?P<msg>.+)$")


def _field_errors(following: Sequence[str]) -> list[tuple[int, str]]:
    """The indented `line N: ...` lines that follow an unmarshal error."""
    found = []
    for raw in following:
        match = _FIELD_LINE.match(raw)
        if not match:
            break
        found.append((int(match["line"]), match["msg"].strip()))
    return found


def _with_fields(message: str, fields: list[tuple[int, str]]) -> str:
    """One readable paragraph: the tool's message, then each field error it listed."""
    return " ".join([message.strip(), *(f"line {n}: {m};" for n, m in fields)]).rstrip(";")


@dataclass(frozen=True)
class ToolResult:
    command: list[str]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_tool(binary: str, args: Sequence[str], cwd: Path | None = None) -> ToolResult:
    """Run promtool or amtool (resolved like every binary) and keep its output, standard
    error interleaved where it was written (promtool prints a file's lint findings on
    stderr after its name on stdout)."""
    tool = resolve(binary)
    command = [str(tool.path), *args]
    proc = subprocess.run(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=120, check=False,
    )
    result = ToolResult(command, proc.returncode, proc.stdout.strip())
    evidence.record("check", f"{binary} {' '.join(args)} -> exit {proc.returncode}",
                    result.output[-4000:])
    return result


def _raise_for(
    result: ToolResult, *, component: str, default_file: Path, tool: str, base: Path | None = None
) -> None:
    if result.ok:
        return
    output = result.output.splitlines()
    for index, raw in enumerate(output):
        fields = _field_errors(output[index + 1:])
        located = _PROMTOOL_LOCATED.match(raw)
        if located and "SUCCESS" not in raw:
            path = Path(located["file"])
            if base is not None and not path.is_absolute():
                path = base / path
            line = int(located["line"]) if located["line"] else None
            raise ConfigError(
                component=component, path=path, line=line or (fields[0][0] if fields else None),
                detail=_with_fields(located["msg"], fields), checked_with=tool,
            )
        if fields and "unmarshal errors" in raw:  # amtool: "Checking 'x'  FAILED: yaml: ..."
            message = raw.split("FAILED:", 1)[-1]
            raise ConfigError(
                component=component, path=default_file, line=fields[0][0],
                detail=_with_fields(message, fields), checked_with=tool,
            )
        yaml_err = _YAML_LINE.search(raw)
        if yaml_err:
            raise ConfigError(
                component=component, path=default_file, line=int(yaml_err["line"]),
                detail=yaml_err["msg"], checked_with=tool,
            )
    failed = [ln.strip() for ln in result.output.splitlines() if "FAILED" in ln or "error" in ln]
    detail = " ".join(failed) or result.output or f"exit code {result.returncode}"
    detail = detail.replace("FAILED:", "").strip()
    raise ConfigError(component=component, path=default_file, detail=detail, checked_with=tool)


def check_prometheus_config(config: Path) -> ToolResult:
    """`promtool check config`, which also checks every rule file the config names."""
    config = config.resolve()
    result = run_tool("promtool", ["check", "config", config.name], cwd=config.parent)
    _raise_for(result, component="prometheus", default_file=config,
               tool="promtool check config", base=config.parent)
    return result


def check_rules(rule_files: Sequence[Path]) -> ToolResult:
    files = [p.resolve() for p in rule_files]
    result = run_tool("promtool", ["check", "rules", *map(str, files)])
    _raise_for(result, component="prometheus", default_file=files[0],
               tool="promtool check rules")
    return result


@dataclass(frozen=True)
class LintFinding:
    """One rule promtool's lint names (today: a duplicate), with the file it is in."""

    file: Path
    rule: str
    labels: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        labels = f" with labels {', '.join(self.labels)}" if self.labels else ""
        return f"{origins.display(self.file)}: rule {self.rule}{labels}: {self.message}"


_CHECKING = re.compile(r"^Checking (?P<file>.+)$")
_LINT = re.compile(r"^lint error (?P<count>\d+) (?P<what>.+?)\.?$")


def lint_findings(result: ToolResult) -> list[LintFinding]:
    """promtool check rules' lint output, per file and rule (it exits 0 unless
    --lint-fatal, and prints the findings under a `FAILED:` of their own)."""
    found: list[LintFinding] = []
    file: Path | None = None
    what = ""
    rule: str | None = None
    labels: list[str] = []

    def flush() -> None:
        if file is not None and rule is not None:
            found.append(LintFinding(file, rule, tuple(labels), what))

    for raw in result.output.splitlines():
        line = raw.strip()
        if checking := _CHECKING.match(raw):
            flush()
            file, rule, labels = Path(checking["file"]), None, []
        elif lint := _LINT.match(line):
            flush()
            what, rule, labels = lint["what"], None, []
        elif line.startswith("Metric: ") and what:
            flush()
            rule, labels = line.removeprefix("Metric: ").strip(), []
        elif raw.startswith("\t") and rule is not None:
            labels.append(line.replace(": ", "="))
        elif line.startswith(("Might cause", "SUCCESS")):
            flush()
            rule, what = None, ("" if line.startswith("SUCCESS") else what)
    flush()
    return found


def run_rule_tests(test_files: Sequence[Path]) -> ToolResult:
    """`promtool test rules`; returns the result (failures are test outcomes, not errors)."""
    files = [p.resolve() for p in test_files]
    return run_tool("promtool", ["test", "rules", *(p.name for p in files)], cwd=files[0].parent)


def _feature_args(features: Sequence[str]) -> list[str]:
    return ["--enable-feature=" + ",".join(features)] if features else []


def check_alertmanager_config(config: Path, features: Sequence[str] = ()) -> ToolResult:
    """`amtool check-config`, with the feature flags the manifest gives Alertmanager
    (classic-mode and utf8-strict-mode change which matchers it reads)."""
    config = config.resolve()
    result = run_tool("amtool", [*_feature_args(features), "check-config", str(config)])
    _raise_for(result, component="alertmanager", default_file=config,
               tool="amtool check-config")
    return result


def check_loki_config(config: Path) -> ToolResult:
    """`loki -verify-config`: Loki's own parser, its field errors with their lines."""
    config = config.resolve()
    result = run_tool("loki", ["-verify-config", f"-config.file={config}"])
    _raise_for(result, component="loki", default_file=config, tool="loki -verify-config")
    return result


def check_promtail_config(config: Path) -> ToolResult:
    """`promtail -check-syntax`, with environment references expanded as the agent runs."""
    config = config.resolve()
    result = run_tool("promtail", ["-check-syntax", "-config.expand-env=true",
                                   f"-config.file={config}"])
    _raise_for(result, component="promtail", default_file=config,
               tool="promtail -check-syntax")
    return result


# Optional components' validators, run where their binary is already at hand.
OPTIONAL_VALIDATORS = {"loki": check_loki_config, "promtail": check_promtail_config}


def amtool_routes(config: Path, labels: dict[str, str], features: Sequence[str] = ()
                  ) -> list[str]:
    """Receivers `amtool config routes test` picks for one label set."""
    args = [*_feature_args(features), "config", "routes", "test",
            f"--config.file={config.resolve()}",
            *(f"{k if am_matchers.is_classic_name(k) else am_matchers.quote(k)}="
              f"{am_matchers.quote(v)}" for k, v in labels.items())]
    result = run_tool("amtool", args)
    lines = [ln for ln in result.output.splitlines() if ln.strip() and "Warning" not in ln]
    if not lines:
        raise ConfigError(component="alertmanager", path=config,
                          detail=f"amtool routed {labels} nowhere: {result.output}",
                          checked_with="amtool config routes test")
    return [r.strip() for r in lines[-1].split(",")]
