"""Policies on the Terraform code itself, read with python-hcl2: they need no
provider and no Terraform run, so they hold everywhere.

- every variable is typed and described;
- no ingress rule opens SSH (22) to the whole Internet;
- no ingress rule opens any port to a literal 0.0.0.0/0 or ::/0 (a public port's
  sources are the users' networks, a variable);
- every literal port an ingress rule opens is a port of the stack manifest (or SSH).

Ports computed from the manifest (the topology module) are proven by the
module's own `terraform test`; these policies catch the rule someone adds by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsharness.errors import ObsharnessError

WORLD = {"0.0.0.0/0", "::/0"}
SSH = 22
# Ingress resources of the AWS provider and the attributes holding ports and sources.
_INGRESS_RULE = "aws_vpc_security_group_ingress_rule"
_LEGACY_RULE = "aws_security_group_rule"
_GROUP = "aws_security_group"


@dataclass(frozen=True)
class Violation:
    file: Path
    line: int
    policy: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.policy}] {self.message}"


class HclParseError(ObsharnessError):
    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"{path}: not valid HCL for python-hcl2: {detail}")


def literal(value: Any) -> Any:
    """A literal value, or None for an expression ("${...}") hcl2 leaves as text."""
    if isinstance(value, str):
        if value.startswith('"') and value.endswith('"') and "${" not in value:
            return value[1:-1]
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, list):
        items = [literal(v) for v in value]
        return None if any(i is None for i in items) else items
    return None


def _unquote(label: str) -> str:
    return label[1:-1] if label.startswith('"') and label.endswith('"') else label


def _line_of(text: str, pattern: str) -> int:
    match = re.search(pattern, text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def parse(path: Path) -> dict[str, Any]:
    import hcl2
    from hcl2.utils import SerializationOptions
    from lark.exceptions import LarkError

    try:
        with path.open() as handle:
            parsed: dict[str, Any] = hcl2.load(handle, serialization_options=SerializationOptions(
                with_comments=False, explicit_blocks=False))
            return parsed
    except (LarkError, ValueError) as exc:
        raise HclParseError(path, str(exc).splitlines()[0] if str(exc) else repr(exc)) from None


def terraform_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.tf")):
        if ".terraform" not in path.parts:
            yield path


def _rule(body: dict[str, Any], protocol: str, cidrs: list[str]) -> dict[str, Any]:
    return {"from": body.get("from_port"), "to": body.get("to_port"),
            "cidrs": [body.get(c) for c in cidrs], "protocol": body.get(protocol)}


def _ingress_rules(resources: list[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(resource type, name, {from, to, cidrs, protocol}) of every ingress."""
    legacy_cidrs = ["cidr_blocks", "ipv6_cidr_blocks"]
    for block in resources:
        for quoted_type, named in block.items():
            rtype = _unquote(quoted_type)
            for quoted_name, body in named.items():
                name = _unquote(quoted_name)
                if rtype == _INGRESS_RULE:
                    yield rtype, name, _rule(body, "ip_protocol", ["cidr_ipv4", "cidr_ipv6"])
                elif rtype == _LEGACY_RULE and literal(body.get("type")) == "ingress":
                    yield rtype, name, _rule(body, "protocol", legacy_cidrs)
                elif rtype == _GROUP:
                    inline = body.get("ingress") or []
                    for rule in inline if isinstance(inline, list) else [inline]:
                        yield rtype, name, _rule(rule, "protocol", legacy_cidrs)


def _sources(raw: list[Any]) -> set[str]:
    found: set[str] = set()
    for value in raw:
        plain = literal(value)
        if isinstance(plain, str):
            found.add(plain)
        elif isinstance(plain, list):
            found.update(str(v) for v in plain)
    return found


def check_file(path: Path, allowed_ports: set[int]) -> list[Violation]:
    text = path.read_text()
    parsed = parse(path)
    violations: list[Violation] = []
    for block in parsed.get("variable", []):
        for label, body in block.items():
            name = _unquote(label)
            missing = " and no ".join(k for k in ("type", "description") if k not in body)
            if missing:
                violations.append(Violation(
                    path, _line_of(text, rf'^[ \t]*variable\s+"{re.escape(name)}"'),
                    "variable-typed-described", f"variable {name} has no {missing}"))
    for rtype, name, rule in _ingress_rules(parsed.get("resource", [])):
        line = _line_of(text, rf'^[ \t]*resource\s+"{rtype}"\s+"{re.escape(name)}"')
        where = f"{rtype}.{name}"
        low, high = literal(rule["from"]), literal(rule["to"])
        protocol = literal(rule["protocol"])
        world = bool(_sources(rule["cidrs"]) & WORLD)
        all_ports = protocol in ("-1", "all") or (low == 0 and high in (0, 65535))
        if world and (all_ports or (isinstance(low, int) and isinstance(high, int)
                                    and low <= SSH <= high)):
            violations.append(Violation(path, line, "no-world-ssh",
                                        f"{where} opens SSH (22) to the whole Internet"))
        elif world:
            violations.append(Violation(
                path, line, "no-literal-world",
                f"{where} opens its port to the whole Internet by a literal 0.0.0.0/0: take "
                "the sources from the computed rules (the users' networks are a variable)"))
        if all_ports:
            violations.append(Violation(path, line, "manifest-ports-only",
                                        f"{where} opens every port"))
        elif isinstance(low, int) and isinstance(high, int):
            outside = sorted(set(range(low, high + 1)) - allowed_ports - {SSH})
            if outside:
                shown = ", ".join(map(str, outside[:5])) + (" ..." if len(outside) > 5 else "")
                violations.append(Violation(
                    path, line, "manifest-ports-only",
                    f"{where} opens port(s) {shown}, not in the stack manifest"))
    return violations


def check_tree(root: Path, allowed_ports: set[int]) -> list[Violation]:
    """Every policy over every .tf file under root."""
    return [v for path in terraform_files(root) for v in check_file(path, allowed_ports)]
