"""obsharness as a team installs it: a wheel in a new virtualenv, `obsharness init` in a
repository written here in the shapes teams keep (tests/fixtures/team_repo), then pytest
there, with no file of this checkout on the way."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from obsharness.init.discover import discover
from obsharness.init.scaffold import STATE_FILE, init

ROOT = Path(__file__).resolve().parents[1]
TEAM = ROOT / "tests" / "fixtures" / "team_repo"


def _team(tmp_path: Path) -> Path:
    repo = tmp_path / "team"
    shutil.copytree(TEAM, repo)
    return repo


def test_init_finds_each_shape_and_writes_a_manifest_that_points_at_the_files(
        tmp_path: Path) -> None:
    repo = _team(tmp_path)
    # A Helm chart's rendered output: several kinds in one file, the rules among them.
    (repo / "deploy" / "helm-rendered.yaml").write_text(yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "alertmanager-main"},
         "data": {"alertmanager.yaml": base64.b64encode(b"route: {receiver: x}\n"
                                                        b"receivers: [{name: x}]\n").decode()}},
    ]))
    # The log side: a Loki config, a Promtail config and an Alloy pipeline.
    logs = repo / "monitoring" / "logs"
    logs.mkdir()
    (logs / "loki.yaml").write_text("auth_enabled: false\nserver: {http_listen_port: 3100}\n"
                                    "schema_config: {configs: []}\n")
    (logs / "promtail.yaml").write_text("server: {http_listen_port: 9080}\nclients:\n"
                                        "  - url: http://loki:3100/loki/api/v1/push\n"
                                        "scrape_configs: []\n")
    (logs / "config.alloy").write_text('loki.write "default" {\n  endpoint {\n'
                                       '    url = "http://loki:3100/loki/api/v1/push"\n  }\n}\n')
    found = discover(repo)
    assert found.loki == ["monitoring/logs/loki.yaml"]
    assert found.log_agents == ["monitoring/logs/config.alloy", "monitoring/logs/promtail.yaml"]
    assert found.rules == ["deploy/k8s/postgres-rules.yaml",
                           "monitoring/prometheus/rules/node.yml"]
    assert found.rule_tests == ["monitoring/prometheus/tests/node.test.yml"]
    assert found.alertmanager == ["monitoring/alertmanager/alertmanager.yml"]
    assert found.alertmanager_secrets == ["deploy/helm-rendered.yaml"]
    assert found.dashboards == ["deploy/k8s/dashboards.yaml", "monitoring/dashboards/node.json"]
    assert found.prometheus == ["monitoring/prometheus/prometheus.yml"]

    outcome = init(repo)
    manifest = yaml.safe_load((repo / "obsharness.yaml").read_text())
    # The team's prometheus.yml's rule_files glob, not a copy of its files.
    assert manifest["sources"]["rules"] == ["deploy/k8s/postgres-rules.yaml",
                                            "monitoring/prometheus/rules/*.yml"]
    assert manifest["components"]["alertmanager"]["config"] == \
        "monitoring/alertmanager/alertmanager.yml"
    assert "deploy/helm-rendered.yaml holds another Alertmanager config; components." \
        "alertmanager uses monitoring/alertmanager/alertmanager.yml" in \
        (repo / "obsharness.yaml").read_text()
    assert "# monitoring/logs/promtail.yaml: a Loki or log agent config" in \
        (repo / "obsharness.yaml").read_text()
    harness_prometheus = yaml.safe_load((repo / "obsharness/prometheus/prometheus.yml")
                                        .read_text())
    assert harness_prometheus["global"] == {"scrape_interval": "30s",
                                            "evaluation_interval": "30s"}  # the team's own
    assert "kubernetes_sd_configs" not in str(harness_prometheus)  # production is not scraped
    assert "wrote obsharness/features/routing.feature" in outcome.lines
    routing = " ".join((repo / "obsharness/features/routing.feature").read_text().split())
    # Rows the real Alertmanager (amtool) answered, a UTF-8 matcher's among them.
    for row in ("| alertname=Example | team-slack |",
                "| alertname=Example, severity=critical | oncall-pager |",
                "| alertname=Example, team=database | dba-email |",
                "| alertname=Example, service.name=checkout | checkout-email |"):
        assert row in routing
    timing = (repo / "obsharness/features/timing.feature").read_text()
    assert "# Scenario: PostgresqlDown's production timing" in timing
    assert '#     | up{job="node", instance="example:9100"} | 0x30 |' in timing
    assert str(repo) not in timing  # paths are the repository's own
    # The nightly campaign shared by mutant id over runners, then merged: on both CIs.
    github = yaml.safe_load((repo / ".github/workflows/obsharness.yml").read_text())
    assert github["jobs"]["mutation"]["strategy"]["matrix"]["shard"] == [1, 2, 3]
    assert "--shard ${{ matrix.shard }}/3" in str(github["jobs"]["mutation"]["steps"])
    assert "obsharness mutate --merge shards/*" in str(github["jobs"]["mutation-report"])
    gitlab = yaml.safe_load((repo / "obsharness/ci/obsharness.gitlab-ci.yml").read_text())
    assert gitlab["obsharness-mutation"]["parallel"] == 3
    assert 'SHARD="$CI_NODE_INDEX/$CI_NODE_TOTAL"' in str(gitlab["obsharness-mutation"])
    assert gitlab["obsharness-mutation-report"]["needs"] == ["obsharness", "obsharness-mutation"]
    assert github["jobs"]["mutation-report"]["needs"] == ["monitoring", "mutation"]


SECRET_CONFIG = """\
route:
  receiver: team-mail
  routes:
    - matchers: ['severity="critical"']
      receiver: oncall
receivers:
  - name: team-mail
    email_configs:
      - to: team@corp.example
        smarthost: smtp.corp.example:587
        from: alertmanager@corp.example
        html: '{{ template "corp.html" . }}'
  - name: oncall
    webhook_configs:
      - url: https://oncall.corp.example/hook
templates:
  - '*.tmpl'
"""


def test_an_alertmanager_config_kept_in_a_secret_is_read_checked_and_rendered(
        tmp_path: Path) -> None:
    from obsharness.errors import ConfigError
    from obsharness.stack.manifest import load_manifest
    from obsharness.stack.render import render_stack, validate_sources

    repo = tmp_path / "kube"
    (repo / "manifests").mkdir(parents=True)
    shutil.copy(TEAM / "monitoring" / "prometheus" / "rules" / "node.yml",
                repo / "manifests" / "node-rules.yml")
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "alertmanager-main", "namespace": "monitoring"},
              "data": {"alertmanager.yaml": base64.b64encode(SECRET_CONFIG.encode()).decode()},
              "stringData": {"corp.tmpl": '{{ define "corp.html" }}<b>{{ .Status }}</b>'
                                          '{{ end }}'}}
    (repo / "manifests" / "alertmanager-secret.yaml").write_text(yaml.safe_dump(secret))
    outcome = init(repo)
    manifest_data = yaml.safe_load((repo / "obsharness.yaml").read_text())
    assert manifest_data["components"]["alertmanager"]["config"] == \
        "manifests/alertmanager-secret.yaml"
    routing = " ".join((repo / "obsharness/features/routing.feature").read_text().split())
    assert "| alertname=Example, severity=critical | oncall |" in routing  # amtool's answer
    assert "wrote obsharness/features/routing.feature" in outcome.lines
    manifest = load_manifest(repo / "obsharness.yaml")
    validate_sources(manifest)  # amtool and the routing check on the Secret's config
    rendered = render_stack(manifest, tmp_path / "run", time_scale=60, addresses={
        "prometheus": "127.0.0.1:1", "alertmanager": "127.0.0.1:2",
        "alert-webhook": "127.0.0.1:3", "mail-relay": "127.0.0.1:4"})
    config = yaml.safe_load(rendered.configs["alertmanager"].read_text())
    assert config["receivers"][1]["webhook_configs"][0]["url"] == "http://127.0.0.1:3/alerts"
    assert (rendered.configs["alertmanager"].parent / "corp.tmpl").is_file()  # its template
    # Each endpoint the sinks stand in for is said, for the report's stand-ins section.
    assert rendered.redirects == [
        "receiver team-mail: email_configs to smtp.corp.example:587 goes to the sink",
        "receiver oncall: webhook_configs to oncall.corp.example goes to the sink"]
    from obsharness.report.html import render as render_html
    from obsharness.report.results import RunResults

    page = render_html(RunResults(stand_ins=rendered.redirects))
    assert "Receivers the harness stood in for (2)" in page
    assert "receiver oncall: webhook_configs to oncall.corp.example goes to the sink" in page
    # A mistake in the Secret's config is named in the Secret, with amtool's words.
    broken = SECRET_CONFIG.replace("receiver: oncall\n", "receiver: on-call\n")
    secret["data"]["alertmanager.yaml"] = base64.b64encode(broken.encode()).decode()
    (repo / "manifests" / "alertmanager-secret.yaml").write_text(yaml.safe_dump(secret))
    with pytest.raises(ConfigError) as raised:
        validate_sources(load_manifest(repo / "obsharness.yaml"))
    assert raised.value.path == repo / "manifests" / "alertmanager-secret.yaml"
    assert "on-call" in str(raised.value)
    assert "Secret alertmanager-main key alertmanager.yaml" in str(raised.value)


def test_init_twice_changes_nothing_and_never_overwrites_a_changed_file(
        tmp_path: Path) -> None:
    repo = _team(tmp_path)
    (repo / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-q'\n")
    first = init(repo)
    assert "kept pyproject.toml (pytest is configured there: add testpaths = obsharness " \
           "and bdd_features_base_dir = obsharness/features/ to it)" in first.lines
    assert not (repo / "pytest.ini").exists()
    # No .gitignore yet: one naming what runs write.
    assert (repo / ".gitignore").read_text().splitlines()[1:] == ["reports/", ".cache/obsharness/"]
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    again = init(repo)
    assert again.written == []
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before
    # The team edits a starter; a later init (after a new route, say) keeps it.
    static = repo / "obsharness/features/static.feature"
    static.write_text(static.read_text() + "  # our own note\n")
    (repo / ".github/workflows/obsharness.yml").unlink()
    third = init(repo)
    assert "kept obsharness/features/static.feature (changed since init wrote it)" in \
        third.lines
    assert third.written == [".github/workflows/obsharness.yml"]
    assert static.read_text().endswith("# our own note\n")
    assert (repo / STATE_FILE).is_file()
    # A team's own .gitignore is never edited: init names the lines it lacks.
    other = _team(tmp_path / "other")
    (other / ".gitignore").write_text("*.pyc\nreports\n")
    said = init(other)
    assert "kept .gitignore (add .cache/obsharness/ to it: obsharness runs write there)" in \
        said.lines
    assert (other / ".gitignore").read_text() == "*.pyc\nreports\n"


def _clean_env() -> dict[str, str]:
    """A team's shell: none of this checkout's variables (make sets PYTHONPATH=src, and
    pip would take src/'s egg-info for an installed obsharness)."""
    return {k: v for k, v in os.environ.items()
            if k not in ("OBSHARNESS_STACK", "OBSHARNESS_ROOT", "PYTHONPATH")}


def _venv_with_the_wheel(tmp_path: Path) -> Path:
    """The built wheel, installed into a new virtualenv outside this checkout.

    Its dependencies are the ones this harness runs on, made visible by a .pth line
    rather than resolved from the index again: pip's resolution of ~40 distributions cost
    20 s of the unit phase's CPU on every run and proves nothing of obsharness. Only
    obsharness itself comes from the wheel (asserted by the caller): the .pth adds the
    folder to sys.path without processing its .pth files, so this checkout's editable
    install stays invisible."""
    source = tmp_path / "source"  # build from a copy: the checkout gets no build/ folder
    source.mkdir()
    for name in ("src", "pyproject.toml", "README.md"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip"]
    env = _clean_env()
    subprocess.run([*pip, "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, timeout=300, env=env)
    wheel = next((tmp_path / "dist").glob("obsharness-*.whl"))
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120,
                   env=env)
    subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", str(wheel)], check=True, timeout=600, env=env)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "harness-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


@pytest.mark.slow
def test_a_team_repository_installs_the_wheel_runs_init_then_pytest(tmp_path: Path) -> None:
    venv = _venv_with_the_wheel(tmp_path)
    env = _clean_env()
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    repo = _team(tmp_path)
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import obsharness.steps, sys; print(obsharness.__file__)"],
                           capture_output=True, text=True, check=True, env=env, cwd=repo).stdout
    assert where.startswith(str(venv)), where  # the wheel's package, not this checkout's src/
    made = subprocess.run(["obsharness", "init"], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    # What the team adds after init: a replay scenario of its own memory alert.
    shutil.copy(repo / "team-features" / "replay.feature", repo / "obsharness" / "features")
    # `python -m pytest`: pytest's own script comes with a dependency, not with the wheel.
    run = subprocess.run(["python", "-m", "pytest", "-p", "no:cacheprovider"], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=600, check=False)
    print(made.stdout, run.stdout[-3000:], sep="\n")  # the closing note quotes these
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "10 passed" in run.stdout
    assert (repo / "reports" / "index.html").is_file()
    assert (repo / "reports" / "results.json").is_file()

    # A deliberately broken rule fails naming its file, with promtool's words, and is a
    # SARIF result for the team's code scanning.
    rules = repo / "monitoring" / "prometheus" / "rules" / "node.yml"
    rules.write_text(rules.read_text().replace('up{job="node"} == 0', 'up{job="node" == 0'))
    broken = subprocess.run(["obsharness", "check"], cwd=repo, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert broken.returncode == 1, broken.stdout[-4000:] + broken.stderr[-2000:]
    assert "ERROR rules/invalid: monitoring/prometheus/rules/node.yml:" in broken.stdout
    assert "parse error" in broken.stdout
    sarif = json.loads((repo / "reports" / "findings.sarif").read_text())
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"] if r["ruleId"] == "rules/invalid"] == [
        "monitoring/prometheus/rules/node.yml"]


PG_REPLAY = """\
@replay
Feature: The database pages its team
  Scenario: PostgreSQL down reaches the DBAs by email
    Given the observability stack is running
    And these series, one sample every 1m:
      | series                                | values |
      | pg_up{job="postgres",instance="db-1"} | 0x10   |
    When the series are replayed through the stack
    Then a firing PostgresqlDown notification with instance=db-1 reaches receiver dba-email
"""


@pytest.mark.slow
def test_a_mutation_campaign_runs_on_a_team_repository_and_its_prometheusrule(
        tmp_path: Path) -> None:
    """The campaign finds the team's files where the manifest points (a PrometheusRule
    among them), mutates a copy of the repository, and the team's own scenarios judge:
    the routing table catches a moved route, a replay catches a PrometheusRule's flipped
    comparison through the reloaded Prometheus."""
    from obsharness.mutation.generate import all_mutants

    repo = _team(tmp_path)
    init(repo)
    (repo / "obsharness" / "features" / "postgres.feature").write_text(PG_REPLAY)
    wanted = {"route at line 14: receiver oncall-pager -> dba-email": "caught by validation",
              "PostgresqlDown: == 0 -> == 1": "caught by behaviour"}
    ids = {m.description: m.id for m in all_mutants(repo) if m.description in wanted}
    assert set(ids) == set(wanted), ids
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    env = {**_clean_env(), "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "obsharness.cli", "mutate", "--budget", "5m",
         "--reports-dir", str(tmp_path / "mutation"), *(f"--mutant={i}" for i in ids.values())],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600, check=False)
    print(done.stdout[-3000:])  # the closing note quotes it
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "mutation" / "mutation.json").read_text())
    outcomes = {m["description"]: m["outcome"] for m in report["mutants"]}
    assert outcomes == wanted, json.dumps(report["mutants"], indent=1)[-4000:]
    by = {m["description"]: m.get("by", "") for m in report["mutants"]}
    assert "routed" in by["route at line 14: receiver oncall-pager -> dba-email"]
    assert "postgresql" in by["PostgresqlDown: == 0 -> == 1"].lower()
    # The team's repository itself was never written (what pytest runs write aside).
    def kept(path: Path) -> bool:
        return not {"reports", "__pycache__"} & set(path.relative_to(repo).parts)

    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and kept(p)} == {
        p: b for p, b in before.items() if kept(p)}
