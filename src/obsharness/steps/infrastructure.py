"""Steps of the infrastructure checks: real Terraform, Ansible, promtool and amtool."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_bdd import parsers, then, when

from obsharness import toolchecks
from obsharness.infra import ansible, checkov, drift, hclpolicy
from obsharness.infra import terraform as tf
from obsharness.infra.layout import EXAMPLE_ADMIN_CIDR, InfraLayout, topology_variables
from obsharness.pytest_plugin import HarnessOptions, skip_if_unavailable
from obsharness.stack.manifest import Manifest

# The receivers a deployment points Alertmanager at: distinct from stack/'s on
# purpose, so the render check proves only addresses changed.
TEAM_RECEIVERS = {"https://oncall.example.com/alertmanager": "http://alert-webhook:9095/alerts",
                  "smtp.example.com:587": "mail-relay:25"}


@pytest.fixture(scope="session")
def infra_layout(stack_manifest: Manifest) -> InfraLayout:
    return InfraLayout(stack_manifest.stack_dir.parent)


@pytest.fixture
def infra_workdir() -> Iterator[Path]:
    """Terraform and Ansible write here, never into infra/; removed after the scenario."""
    with tempfile.TemporaryDirectory(prefix="obsharness-infra-") as tmp, \
            tf.quiet_environment(Path(tmp)):
        yield Path(tmp)


def _copy(module: Path, layout: InfraLayout, workdir: Path) -> Path:
    return tf.workspace(module, layout.project_root, workdir)


@when("the Terraform code is checked by terraform fmt and the HCL policies",
      target_fixture="tf_checks")
def terraform_static(infra_layout: InfraLayout, stack_manifest: Manifest) -> dict[str, Any]:
    ports = {c.port for c in stack_manifest.components.values()}
    return {"unformatted": tf.fmt_check(infra_layout.terraform),
            "violations": hclpolicy.check_tree(infra_layout.terraform, ports)}


@then("no Terraform file needs formatting")
def formatted(tf_checks: dict[str, Any]) -> None:
    assert not tf_checks["unformatted"], f"terraform fmt would rewrite: {tf_checks['unformatted']}"


@then(parsers.parse("every variable is typed and described"))
def typed_described(tf_checks: dict[str, Any]) -> None:
    _no_violation(tf_checks, "variable-typed-described")


@then("every port an ingress rule opens by hand is a port of the manifest")
def manifest_ports_only(tf_checks: dict[str, Any]) -> None:
    _no_violation(tf_checks, "manifest-ports-only")


@then("no ingress rule opens SSH to 0.0.0.0/0")
def no_world_ssh(tf_checks: dict[str, Any]) -> None:
    _no_violation(tf_checks, "no-world-ssh")


@then("no ingress rule opens a port to a literal 0.0.0.0/0")
def no_literal_world(tf_checks: dict[str, Any]) -> None:
    _no_violation(tf_checks, "no-literal-world")


def _no_violation(tf_checks: dict[str, Any], policy: str) -> None:
    found = [str(v) for v in tf_checks["violations"] if v.policy == policy]
    assert not found, "\n".join(found)


@then("Terraform refuses 0.0.0.0/0 as the admin network")
def world_admin_refused(infra_layout: InfraLayout, infra_workdir: Path) -> None:
    module = _copy(infra_layout.topology_module, infra_layout, infra_workdir)
    tf.init(module)
    with pytest.raises(tf.TerraformStageError) as refused:
        tf.plan(module, topology_variables(infra_layout, admin_cidr="0.0.0.0/0"))
    assert "never the whole Internet" in str(refused.value), str(refused.value)
    assert any(d.file and d.file.endswith("variables.tf") and d.line
               for d in refused.value.diagnostics), str(refused.value)


@when("Terraform plans the topology module with the default placement",
      target_fixture="topology_plan")
def plan_topology(infra_layout: InfraLayout, infra_workdir: Path) -> tf.Plan:
    module = _copy(infra_layout.topology_module, infra_layout, infra_workdir)
    tf.init(module)
    return tf.plan(module, topology_variables(infra_layout))


@then("the rules open exactly the ports of the deployed components, plus SSH")
def rules_ports(topology_plan: tf.Plan, stack_manifest: Manifest) -> None:
    deployed = topology_plan.outputs()["deployed"]
    expected = {stack_manifest.component(n).port for n in deployed} | {22}
    opened = {rule["port"] for rule in topology_plan.outputs()["rules"]}
    assert opened == expected, f"opened {sorted(opened)}, architecture {sorted(expected)}"
    assert set(deployed) == drift.deployed_components(stack_manifest, "alloy")


@then("each component's port is open to its audience only:")
def audiences(topology_plan: tf.Plan, infra_layout: InfraLayout,
              datatable: list[list[str]]) -> None:
    networks = topology_variables(infra_layout)
    audience = {"the users": list(networks["user_cidrs"]),
                "the admin network": [networks["admin_cidr"]],
                "the VPC": [networks["vpc_cidr"]]}
    wanted = {row[0]: audience[row[1]] for row in datatable[1:]}
    wrong = [f"{r['host']} {r['component']}:{r['port']} open to {r['sources']}, "
             f"not {wanted.get(r['component'], wanted['any other'])}"
             for r in topology_plan.outputs()["rules"] if r["port"] != 22
             and sorted(r["sources"]) != sorted(wanted.get(r["component"], wanted["any other"]))]
    assert not wrong, "ports open to more (or other) networks than their audience:\n" + \
        "\n".join(wrong)


@then(parsers.parse("each of the {count:d} hosts gets one SSH rule, from the admin network only"))
def ssh_rules(count: int, topology_plan: tf.Plan) -> None:
    ssh = [r for r in topology_plan.outputs()["rules"] if r["port"] == 22]
    assert len(ssh) == count, ssh
    assert len({r["host"] for r in ssh}) == count, ssh
    assert all(r["sources"] == [EXAMPLE_ADMIN_CIDR] for r in ssh), ssh


@then(parsers.parse("the {module} module's own Terraform tests pass"))
def module_tests(module: str, infra_layout: InfraLayout, infra_workdir: Path) -> None:
    source = infra_layout.terraform / "modules" / module
    copy = _copy(source, infra_layout, infra_workdir)
    tf.init(copy)
    report = tf.run_tests(copy)
    assert report.passed, "\n".join(f"{r.file} run {r.name}: {r.status} "
                                    f"{'; '.join(map(str, r.diagnostics))}"
                                    for r in report.failures())


@when("Terraform plans the inventory module with the example inventory's hosts",
      target_fixture="inventory_plan")
def plan_inventory(infra_layout: InfraLayout, infra_workdir: Path) -> tf.Plan:
    example = ansible.load_inventory(infra_layout.example_inventory)
    hosts = {name.removeprefix("obs-"): {"public_ip": h["ansible_host"],
                                         "private_ip": h["private_ip"],
                                         "components": h["obs_components"]}
             for name, h in example["hosts"].items()}
    module = _copy(infra_layout.inventory_module, infra_layout, infra_workdir)
    tf.init(module)
    return tf.plan(module, {"hosts": hosts, "ssh_user": example["vars"]["ansible_user"],
                            "log_agent": example["vars"]["obs_log_agent"]})


@then("the planned inventory equals infra/ansible/inventory/example.yml")
def inventory_equals_example(inventory_plan: tf.Plan, infra_layout: InfraLayout) -> None:
    planned = yaml.safe_load(inventory_plan.outputs()["yaml"])
    example = yaml.safe_load(infra_layout.example_inventory.read_text())
    found = drift.first_difference(example, _sorted_addresses(planned))
    assert found is None, f"Terraform's inventory and example.yml differ at {found}"


def _sorted_addresses(inventory: dict[str, Any]) -> dict[str, Any]:
    # Terraform lists a component's hosts in map order; the example in host order.
    hosts = inventory["all"]["vars"]["obs_service_hosts"]
    inventory["all"]["vars"]["obs_service_hosts"] = {k: sorted(v) for k, v in hosts.items()}
    return inventory


@when("the deployment's Terraform is initialised with the AWS provider",
      target_fixture="deployment_module")
def init_deployment(infra_layout: InfraLayout, infra_workdir: Path,
                    harness_options: HarnessOptions) -> Path:
    module = _copy(infra_layout.terraform, infra_layout, infra_workdir)
    with skip_if_unavailable(harness_options):
        tf.init(module, providers=["hashicorp/aws"])
    return module


@then("terraform validate accepts the deployment")
def validate_deployment(deployment_module: Path) -> None:
    warnings = tf.validate(deployment_module)
    assert all(w.severity == "warning" for w in warnings)


@then("the deployment's Terraform tests pass with a mocked AWS provider: three hosts, only the "
      "architecture's ports, no public SSH")
def deployment_tests(deployment_module: Path) -> None:
    report = tf.run_tests(deployment_module)
    names = {r.name for r in report.runs}
    assert {"three_hosts", "only_the_architecture_ports", "no_public_ssh"} <= names, names
    assert report.passed, "\n".join(f"{r.name}: {r.status}" for r in report.failures())


@then("ansible-playbook --syntax-check accepts site.yml")
def syntax_ok(infra_layout: InfraLayout) -> None:
    ansible.syntax_check(infra_layout.ansible)


@then("ansible-lint finds nothing with the production profile")
def lint_clean(infra_layout: InfraLayout) -> None:
    issues = ansible.lint(infra_layout.ansible)
    assert not issues, "\n".join(map(str, issues))


@when("Ansible renders each host's files from the example inventory",
      target_fixture="rendered_hosts")
def render_hosts(infra_layout: InfraLayout, infra_workdir: Path,
                 stack_manifest: Manifest) -> dict[str, Any]:
    webhook, smarthost = TEAM_RECEIVERS
    hosts = ansible.render(infra_layout.ansible, infra_workdir / "hosts",
                           extra_vars={"obs_alert_webhook_url": webhook,
                                       "obs_smtp_smarthost": smarthost})
    inventory = ansible.load_inventory(infra_layout.example_inventory)
    return {"hosts": hosts,
            "drifts": drift.check_deployment(hosts, inventory, stack_manifest, TEAM_RECEIVERS)}


@then("every deployed component of the manifest runs on the hosts Terraform placed it on")
def every_component_deployed(rendered_hosts: dict[str, Any]) -> None:
    drifts = [d for d in rendered_hosts["drifts"] if d.file == "compose.yml"]
    assert not drifts, "\n".join(map(str, drifts))


@then("every deployed config equals its stack/ original, modulo addresses")
def configs_equal_stack(rendered_hosts: dict[str, Any]) -> None:
    drifts = [d for d in rendered_hosts["drifts"] if d.file != "compose.yml"]
    assert not drifts, "\n".join(map(str, drifts))


@then("promtool and amtool accept the deployed Prometheus and Alertmanager configs")
def tools_accept_deployed(rendered_hosts: dict[str, Any]) -> None:
    monitoring = rendered_hosts["hosts"]["obs-monitoring"]
    toolchecks.check_prometheus_config(monitoring / "prometheus" / "prometheus.yml")
    toolchecks.check_alertmanager_config(monitoring / "alertmanager" / "alertmanager.yml")


@when(parsers.parse("checkov scans {folder} for {framework}"), target_fixture="checkov_scan")
def checkov_scans(folder: str, framework: str, infra_layout: InfraLayout,
                  harness_options: HarnessOptions) -> checkov.Scan:
    with skip_if_unavailable(harness_options):
        return checkov.scan(infra_layout.project_root / folder, framework)
    raise AssertionError("unreachable: skip_if_unavailable skips or fails")


@then("no check fails and checkov parsed every file")
def checkov_clean(checkov_scan: checkov.Scan) -> None:
    problems = checkov_scan.problems(skips=False)
    assert not problems, "\n".join(problems)


@then("every skipped check gives its reason in the code")
def checkov_skips_justified(checkov_scan: checkov.Scan) -> None:
    bare = checkov_scan.unjustified_skips
    assert not bare, "skips without a reason (#checkov:skip=ID:reason):\n" + "\n".join(
        map(str, bare))
