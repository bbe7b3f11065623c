"""Ansible stages with the real ansible-core and ansible-lint, on mutated copies."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from obsharness.infra import ansible, drift
from obsharness.stack.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """infra/ansible next to stack/, as in the repository (the roles read ../../stack)."""
    shutil.copytree(ROOT / "infra" / "ansible", tmp_path / "infra" / "ansible")
    shutil.copytree(ROOT / "stack", tmp_path / "stack",
                    ignore=shutil.ignore_patterns("node_modules", "dist", "__pycache__"))
    return tmp_path


def _filters() -> ModuleType:
    path = ROOT / "infra" / "ansible" / "filter_plugins" / "obsharness.py"
    spec = importlib.util.spec_from_file_location("obsharness_filters", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_syntax_error_names_file_and_line(project: Path) -> None:
    site = project / "infra" / "ansible" / "site.yml"
    broken = site.read_text().replace("  roles:\n    - role: docker",
                                      "  roles\n    - role: docker")
    site.write_text(broken)
    roles_line = broken.splitlines().index("  roles") + 1
    with pytest.raises(ansible.AnsibleStageError) as failed:
        ansible.syntax_check(project / "infra" / "ansible")
    assert failed.value.file is not None
    assert failed.value.file.endswith("site.yml")
    # The parser notices the missing colon on the line after `roles`.
    assert failed.value.line == roles_line + 1


def test_lint_reports_each_issue_with_its_rule(project: Path) -> None:
    tasks = project / "infra" / "ansible" / "roles" / "apps" / "tasks" / "main.yml"
    tasks.write_text(tasks.read_text() + "\n- shell: docker ps\n")
    issues = ansible.lint(project / "infra" / "ansible")
    rules = {i.rule for i in issues}
    assert {"fqcn[action-core]", "name[missing]"} <= rules, issues
    assert all(i.file.endswith("roles/apps/tasks/main.yml") for i in issues)


def test_prometheus_targets_expand_to_every_host() -> None:
    config = {"scrape_configs": [{"job_name": "node", "static_configs": [
        {"targets": ["node-exporter:9100"]}]}],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]}}
    hosts = {"node-exporter": ["10.0.0.1", "10.0.0.2"], "alertmanager": ["10.0.0.1"]}
    out = _filters().obs_prometheus_targets(config, hosts)
    assert out["scrape_configs"][0]["static_configs"][0]["targets"] == [
        "10.0.0.1:9100", "10.0.0.2:9100"]
    assert out["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["10.0.0.1:9093"]
    assert config["scrape_configs"][0]["static_configs"][0]["targets"] == ["node-exporter:9100"]


def test_build_files_are_what_the_dockerfile_copies() -> None:
    files = _filters().obs_build_files({"context": "apps/node_app", "dockerfile": "Dockerfile"},
                                       str(ROOT / "stack"))
    assert files == ["Dockerfile", "index.html", "package-lock.json", "package.json",
                     "server.js", "src"]


def test_compose_keeps_secrets_out_and_other_hosts_reachable() -> None:
    manifest = yaml.safe_load((ROOT / "stack" / "stack.yaml").read_text())
    compose = _filters().obs_compose(manifest, ["postgres", "postgres-exporter"],
                                     {"postgres": ["10.0.0.3"], "prometheus": ["10.0.0.1"]})
    postgres = compose["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_PASSWORD"] == "${OBS_DB_PASSWORD}"
    assert postgres["extra_hosts"] == ["prometheus:10.0.0.1"]
    assert postgres["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert "{db_password}" not in yaml.safe_dump(compose)


def test_render_shows_a_drifting_template_and_nothing_of_the_teams_receivers(
        project: Path, tmp_path: Path) -> None:
    # One render (about 12 s of Ansible) serves both questions: a filter that drifts
    # from stack/ is named, and the team's receivers are the only other difference.
    plugin = project / "infra" / "ansible" / "filter_plugins" / "obsharness.py"
    plugin.write_text(plugin.read_text().replace(
        "    result = copy.deepcopy(config)\n\n    def expand",
        "    result = copy.deepcopy(config)\n    result['global']['scrape_interval'] = '30s'\n\n"
        "    def expand"))
    webhook = "https://oncall.example.com/hook"
    rendered = ansible.render(project / "infra" / "ansible", tmp_path / "out",
                              extra_vars={"obs_alert_webhook_url": webhook,
                                          "obs_smtp_smarthost": "smtp.example.com:587"},
                              limit="obs-monitoring")
    assert set(rendered) == {"obs-monitoring"}
    manifest = load_manifest(project / "stack" / "stack.yaml")
    inventory = ansible.load_inventory(project / "infra" / "ansible" / "inventory" / "example.yml")
    inventory["hosts"] = {"obs-monitoring": inventory["hosts"]["obs-monitoring"]}
    receivers = {webhook: "http://alert-webhook:9095/alerts",
                 "smtp.example.com:587": "mail-relay:25"}
    assert [str(d) for d in drift.check_deployment(rendered, inventory, manifest, receivers)
            if d.host != "all hosts"] == [
        "obs-monitoring: prometheus/prometheus.yml: global.scrape_interval: "
        "stack/ has '15s', deployed has '30s'"]
    # Without mapping the team's receivers back, the change of address shows too.
    found = drift.check_deployment(rendered, inventory, manifest, {})
    assert sorted(d.file for d in found if d.host != "all hosts") == [
        "alertmanager/alertmanager.yml", "prometheus/prometheus.yml"]


def test_the_play_refuses_to_deploy_without_its_secrets(tmp_path: Path) -> None:
    """No default password: with any secret empty, the first play stops the deployment."""
    with pytest.raises(ansible.AnsibleStageError) as caught:
        ansible.render(ROOT / "infra" / "ansible", tmp_path / "out",
                       extra_vars={"obs_demo_password": ""}, limit="obs-apps")
    message = str(caught.value)
    for variable in ("OBS_DB_PASSWORD", "OBS_ADMIN_PASSWORD", "OBS_DEMO_PASSWORD"):
        assert variable in message
    assert "no default secrets" in message
    assert not (tmp_path / "out" / "obs-apps").exists()  # nothing was written


def test_group_vars_hold_no_default_secret() -> None:
    group_vars = (ROOT / "infra" / "ansible" / "group_vars" / "all.yml").read_text()
    for variable in ansible.SECRET_VARIABLES:
        line = next(ln for ln in group_vars.splitlines() if ln.startswith(f"{variable}:"))
        assert "default=" not in line, line
