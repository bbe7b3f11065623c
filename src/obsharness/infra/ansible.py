"""Ansible stages: syntax check, ansible-lint (offline, production profile) and a
render of the roles' config tasks into a local folder, one sub-folder per host.

All three run the real ansible-core and ansible-lint from the virtualenv; the
render runs the same tasks a deployment runs (`--tags config`) with a local
connection, so what it writes is what the hosts would get.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsharness.errors import ObsharnessError
from obsharness.report import evidence

# ansible-core 2.19 prints "Origin: file:line:col"; older releases "... in 'file': line N".
_ORIGIN = re.compile(r"Origin: (?P<file>[^\s:]+):(?P<line>\d+)")
_OLD_ORIGIN = re.compile(r"appears to be in '(?P<file>[^']+)': line (?P<line>\d+)")


class AnsibleStageError(ObsharnessError):
    """An Ansible stage failed; names the stage, the file and line when Ansible gave them."""

    def __init__(self, stage: str, message: str, file: str | None = None,
                 line: int | None = None) -> None:
        self.stage = stage
        self.file = file
        self.line = line
        at = f"{file}:{line}: " if file else ""
        super().__init__(f"ansible {stage}: {at}{message.strip()}")


@dataclass(frozen=True)
class LintIssue:
    file: str
    line: int | None
    rule: str
    message: str

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}" if self.line else self.file
        return f"{at}: [{self.rule}] {self.message}"


def _tool(name: str) -> str:
    # The virtualenv's own entry points, whatever PATH says.
    return str(Path(sys.executable).parent / name)


def _run(argv: list[str], cwd: Path, timeout: float,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # Pipelining: one process per task instead of copying each module first.
    full_env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_PIPELINING": "1", **(env or {})}
    try:
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              env=full_env, check=False)
    except subprocess.TimeoutExpired:
        message = f"{' '.join(argv)} took more than {timeout:.0f} s"
        raise AnsibleStageError(Path(argv[0]).name, message) from None


def syntax_check(ansible_dir: Path, playbook: str = "site.yml",
                 inventory: str = "inventory/example.yml") -> None:
    """`ansible-playbook --syntax-check`; AnsibleStageError naming file:line on failure."""
    done = _run([_tool("ansible-playbook"), "--syntax-check", "-i", inventory, playbook],
                ansible_dir, timeout=120)
    if done.returncode != 0:
        output = f"{done.stdout}\n{done.stderr}"
        found = _ORIGIN.search(output) or _OLD_ORIGIN.search(output)
        first = next((ln for ln in output.splitlines() if "ERROR" in ln), output.strip()[:500])
        raise AnsibleStageError("syntax-check", first, found["file"] if found else playbook,
                                int(found["line"]) if found else None)
    evidence.record("check", f"ansible-playbook --syntax-check {playbook}", done.stdout[-2000:])


def lint(ansible_dir: Path, playbook: str = "site.yml") -> list[LintIssue]:
    """ansible-lint, offline, production profile: every issue with its file and line."""
    done = _run([_tool("ansible-lint"), "--offline", "--profile", "production",
                 "--format", "codeclimate", "-q", playbook], ansible_dir, timeout=300)
    try:
        raw = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        raise AnsibleStageError("lint", f"unreadable ansible-lint output: {done.stdout[:300]}"
                                f"{done.stderr[-1000:]}") from None
    issues = [
        LintIssue(
            file=str(item.get("location", {}).get("path", "?")),
            line=(item.get("location", {}).get("lines") or {}).get("begin"),
            rule=str(item.get("check_name", "?")),
            message=str(item.get("description", "")),
        )
        for item in raw
    ]
    if done.returncode != 0 and not issues:
        raise AnsibleStageError("lint", done.stderr[-2000:] or done.stdout[-2000:])
    evidence.record("check", f"ansible-lint --offline --profile production {playbook}",
                    [str(i) for i in issues] or "no issue")
    return issues


SECRET_VARIABLES = ("obs_db_password", "obs_admin_password", "obs_demo_password")


def render(ansible_dir: Path, out_dir: Path, inventory: str = "inventory/example.yml",
           extra_vars: dict[str, str] | None = None, limit: str | None = None) -> dict[str, Path]:
    """Run the roles' `config` tasks locally; return each host's folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    variables = {
        "ansible_become": False,
        "ansible_python_interpreter": sys.executable,
        "obs_deploy_root": f"{out_dir}/{{{{ inventory_hostname }}}}",
        # The play refuses to run without secrets; the render uses throwaway ones.
        **{name: secrets.token_hex(12) for name in SECRET_VARIABLES},
        **(extra_vars or {}),
    }
    argv = [_tool("ansible-playbook"), "-i", inventory, "site.yml", "--tags", "config",
            "--connection", "local", "--extra-vars", json.dumps(variables)]
    # The `config` tasks read no host facts (only the docker role does, untagged): no
    # fact gathering, which costs a `setup` module run per host and play.
    done = _run([*argv, "--limit", limit] if limit else argv, ansible_dir, timeout=600,
                env={"ANSIBLE_GATHERING": "explicit"})
    if done.returncode != 0:
        failed = [ln for ln in done.stdout.splitlines() if "FAILED" in ln or "fatal:" in ln]
        raise AnsibleStageError("render", "\n".join(failed[:5]) or done.stderr[-2000:])
    hosts = {host.name: host for host in sorted(out_dir.iterdir()) if host.is_dir()}
    evidence.record("config", "files Ansible would deploy, per host",
                    {name: sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()
                                  and "build" not in p.relative_to(path).parts)
                     for name, path in hosts.items()})
    return hosts


def load_inventory(path: Path) -> dict[str, Any]:
    """The hosts of an inventory in Terraform's shape: name -> host vars, plus `all` vars."""
    data = yaml.safe_load(path.read_text()) or {}
    everyone = data.get("all", {})
    hosts: dict[str, Any] = {}
    for group in (everyone.get("children") or {}).values():
        for name, host_vars in (group.get("hosts") or {}).items():
            hosts[name] = host_vars or {}
    return {"vars": everyone.get("vars") or {}, "hosts": hosts}
