"""HCL policies on mutated copies of infra/terraform: each mutation is caught, with file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from obsharness.infra import hclpolicy
from obsharness.stack.manifest import default_manifest_path, load_manifest

ROOT = Path(__file__).resolve().parent.parent
PORTS = {c.port for c in load_manifest(default_manifest_path()).components.values()}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "terraform"
    shutil.copytree(ROOT / "infra" / "terraform", copy)
    return copy


def _add(tree: Path, text: str) -> Path:
    extra = tree / "modules" / "security" / "extra.tf"
    extra.write_text(text)
    return extra


def test_the_repository_code_passes_every_policy() -> None:
    assert hclpolicy.check_tree(ROOT / "infra" / "terraform", PORTS) == []


def test_a_world_open_ssh_rule_is_caught_with_file_and_line(tree: Path) -> None:
    extra = _add(tree, '\n\nresource "aws_vpc_security_group_ingress_rule" "debug" {\n'
                       '  security_group_id = "sg-1"\n  cidr_ipv4 = "0.0.0.0/0"\n'
                       '  from_port = 22\n  to_port = 22\n  ip_protocol = "tcp"\n}\n')
    violations = hclpolicy.check_tree(tree, PORTS)
    assert [str(v) for v in violations] == [
        f"{extra}:3: [no-world-ssh] aws_vpc_security_group_ingress_rule.debug opens SSH (22) "
        "to the whole Internet"]


def test_inline_ingress_of_a_legacy_group_is_checked_too(tree: Path) -> None:
    _add(tree, 'resource "aws_security_group" "old" {\n  ingress {\n    from_port = 0\n'
               '    to_port = 65535\n    protocol = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n')
    policies = sorted(v.policy for v in hclpolicy.check_tree(tree, PORTS))
    assert policies == ["manifest-ports-only", "no-world-ssh"]


def test_an_undeclared_port_is_caught(tree: Path) -> None:
    _add(tree, 'resource "aws_vpc_security_group_ingress_rule" "debug" {\n'
               '  security_group_id = "sg-1"\n  cidr_ipv4 = "10.0.0.0/8"\n'
               '  from_port = 8080\n  to_port = 8081\n  ip_protocol = "tcp"\n}\n')
    [violation] = hclpolicy.check_tree(tree, PORTS)
    assert violation.policy == "manifest-ports-only"
    assert "8080, 8081" in violation.message


def test_a_computed_port_opened_to_a_literal_world_is_caught(tree: Path) -> None:
    """The security module applies the topology's rules: a hand-written 0.0.0.0/0 there
    opens every private component (Prometheus, PostgreSQL...) to the Internet."""
    security = tree / "modules" / "security" / "main.tf"
    security.write_text(security.read_text().replace(
        "cidr_ipv4         = each.value.cidr", 'cidr_ipv4         = "0.0.0.0/0"', 1))
    [violation] = hclpolicy.check_tree(tree, PORTS)
    assert violation.policy == "no-literal-world"
    assert violation.file == security
    assert "aws_vpc_security_group_ingress_rule.port opens its port to the whole Internet" in \
        violation.message


def test_a_manifest_port_from_the_vpc_is_fine(tree: Path) -> None:
    _add(tree, 'resource "aws_vpc_security_group_ingress_rule" "prom" {\n'
               '  security_group_id = "sg-1"\n  cidr_ipv4 = "10.0.0.0/8"\n'
               '  from_port = 9090\n  to_port = 9090\n  ip_protocol = "tcp"\n}\n')
    assert hclpolicy.check_tree(tree, PORTS) == []


def test_an_untyped_undescribed_variable_is_caught(tree: Path) -> None:
    variables = tree / "variables.tf"
    variables.write_text(variables.read_text() + '\nvariable "debug" {\n  default = 1\n}\n')
    [violation] = hclpolicy.check_tree(tree, PORTS)
    assert violation.policy == "variable-typed-described"
    assert violation.message == "variable debug has no type and no description"
    assert violation.line == variables.read_text().splitlines().index('variable "debug" {') + 1


def test_unparsable_hcl_names_the_file(tree: Path) -> None:
    broken = _add(tree, 'resource "x" {\n')
    with pytest.raises(hclpolicy.HclParseError, match=str(broken)):
        hclpolicy.check_tree(tree, PORTS)
