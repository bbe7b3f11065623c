"""Where the infrastructure code lives and the example values its checks plan with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsharness.infra import hclpolicy

# Documentation ranges (RFC 5737): plans look real without naming anyone's network.
EXAMPLE_ADMIN_CIDR = "198.51.100.0/24"
EXAMPLE_USER_CIDRS = ["203.0.113.0/24"]


@dataclass(frozen=True)
class InfraLayout:
    project_root: Path

    @property
    def terraform(self) -> Path:
        return self.project_root / "infra" / "terraform"

    @property
    def topology_module(self) -> Path:
        return self.terraform / "modules" / "topology"

    @property
    def inventory_module(self) -> Path:
        return self.terraform / "modules" / "inventory"

    @property
    def ansible(self) -> Path:
        return self.project_root / "infra" / "ansible"

    @property
    def example_inventory(self) -> Path:
        return self.ansible / "inventory" / "example.yml"


def variable_default(tf_file: Path, name: str) -> Any:
    """The literal default of a Terraform variable (maps and lists included)."""
    for block in hclpolicy.parse(tf_file).get("variable", []):
        body = block.get(f'"{name}"')
        if body is not None:
            return _plain(body.get("default"))
    raise KeyError(f"{tf_file}: no variable {name!r}")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {re.sub(r'^"(.*)"$', r"\1", k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    literal = hclpolicy.literal(value)
    return literal if literal is not None else value


def topology_variables(layout: InfraLayout, **overrides: Any) -> dict[str, Any]:
    """The root module's defaults as the topology module gets them, example networks."""
    variables_tf = layout.terraform / "variables.tf"
    values = {
        "manifest_path": str(layout.project_root / "stack" / "stack.yaml"),
        "placement": variable_default(variables_tf, "placement"),
        "log_agent": variable_default(variables_tf, "log_agent"),
        "vpc_cidr": variable_default(variables_tf, "vpc_cidr"),
        "admin_cidr": EXAMPLE_ADMIN_CIDR,
        "user_cidrs": EXAMPLE_USER_CIDRS,
    }
    values.update(overrides)
    return values
