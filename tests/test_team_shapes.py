"""Monitoring code in the shapes teams keep it (tests/fixtures/team_shapes), dropped into
a copy of the sample stack and named in its manifest's sources: every static check runs
on it with the real promtool, amtool and jsonnet, the rendered stack loads it, and a
real Prometheus evaluates it while the live dashboard check reads it."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from obsharness import (
    alertrouting,
    dashboard_sources,
    dashboards,
    loki_rules,
    origins,
    rule_reach,
    rule_sources,
    ruletests,
    toolchecks,
)
from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import ConfigError, RouteForOtherSourcesWarning
from obsharness.grafana_vars import provisioned
from obsharness.scenario import wait_for_targets
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import Manifest, load_manifest
from obsharness.stack.process import ProcessStack
from obsharness.stack.render import render_stack, validate_sources
from obsharness.waiting import eventually

from .conftest import ROOT, STACK
from .test_harness_plumbing import _env

FIXTURES = Path(__file__).parent / "fixtures" / "team_shapes"
MIXIN = {"jsonnet": "team/mixin/mixin.libsonnet", "jpath": ["team/mixin/vendor"]}
SOURCES = {
    "rules": ["team/k8s/rules/*.yaml", "team/mimir/*.yaml", "team/thanos/*.yml",
              {"render": ["cat", "team/helm/rendered.yaml"], "name": "helm template monitoring"},
              MIXIN],
    "dashboards": ["grafana/dashboards/*.json", "team/dashboards/*.json",
                   "team/k8s/dashboards/*.yaml", MIXIN],
    "loki_rules": ["loki/rules/*.yml", "team/loki/rules/*.yml"],
}
ADDRESSES = {"prometheus": "127.0.0.1:1", "alertmanager": "127.0.0.1:2"}


def team_stack(root: Path, sources: dict[str, object] | None = None, *,
               advice_taken: bool = False) -> Path:
    """A copy of the sample stack with the team's files under team/ and named as sources;
    `advice_taken`: the kept route the team's info alerts now reach is dropped."""
    stack = root / "stack"
    shutil.copytree(STACK, stack, ignore=shutil.ignore_patterns("__pycache__", "node_modules",
                                                                 "apps"))
    (stack / "apps").symlink_to(STACK / "apps")  # the apps are not the team's code here
    shutil.copytree(FIXTURES, stack / "team")
    if advice_taken:
        (stack / "alertmanager" / "other-sources.yml").write_text("routes: []\n")
    manifest = yaml.safe_load((stack / "stack.yaml").read_text())
    manifest["sources"] = SOURCES if sources is None else sources
    (stack / "stack.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return stack


@pytest.fixture
def team(tmp_path: Path) -> Manifest:
    return load_manifest(team_stack(tmp_path) / "stack.yaml")


@pytest.fixture
def rules(team: Manifest, tmp_path: Path) -> Iterator[rule_sources.RuleSet]:
    try:
        yield rule_sources.rule_set(team, tmp_path / "extracted")
    finally:
        origins.forget(tmp_path / "extracted")


def _origins(rule_set: rule_sources.RuleSet, stack: Path) -> list[tuple[str, str]]:
    """(group, origin) for every extracted group, the stack's path shortened to S."""
    return [(str(g["name"]), str(o).replace(str(stack), "S")) for f in rule_set.found
            for d in f.documents for g, o in zip(d.groups, d.group_origins, strict=True)]


def test_every_rule_shape_is_read_with_its_origin(rules: rule_sources.RuleSet,
                                                  team: Manifest) -> None:
    assert _origins(rules, team.stack_dir) == [
        ("targets", "S/team/k8s/rules/bundle.yaml:19 (document 2, PrometheusRule "
                    "monitoring/platform-rules group 'targets')"),
        ("node-load", "S/team/k8s/rules/bundle.yaml:36 (document 3, PrometheusRule "
                      "monitoring/load group 'node-load')"),
        ("scrape-health", "S/team/k8s/rules/list.yaml:12 (PrometheusRule "
                          "monitoring/scrape-health (List item 1) group 'scrape-health')"),
        ("node-filesystem", "S/team/k8s/rules/node-rules.yaml:11 (PrometheusRule "
                            "monitoring/node-rules group 'node-filesystem')"),
        ("node-memory", "S/team/k8s/rules/node-rules.yaml:29 (PrometheusRule "
                        "monitoring/node-rules group 'node-memory')"),
        ("tenant-a-recording", "S/team/mimir/tenant-a.yaml:4 (Mimir namespace tenant-a "
                               "group 'tenant-a-recording')"),
        # The same group name in another file: Prometheus allows it, so does the harness.
        ("node-filesystem", "S/team/thanos/rules.yml:5 (rule file group 'node-filesystem')"),
        ("chart-alerts", "<cat team/helm/rendered.yaml>:18 (document 2, PrometheusRule "
                         "monitoring/templates/prometheusrule.yaml: monitoring/monitoring-chart "
                         "group 'chart-alerts')"),
        ("mixin-node", "S/team/mixin/mixin.libsonnet (jsonnet mixin prometheusAlerts "
                       "group 'mixin-node')"),
        ("mixin-node-records", "S/team/mixin/mixin.libsonnet (jsonnet mixin prometheusRules "
                               "group 'mixin-node-records')"),
    ]
    # What was not rules is counted, never read as rules.
    assert [n for f in rules.found for n in f.not_rules] == [
        "bundle.yaml: Service monitoring/prometheus (document 1)",
        "monitoring/templates/configmap.yaml: ConfigMap monitoring-settings (document 1): "
        "no key holds a rule file",
    ]


def test_the_fields_of_other_rulers_are_dropped_and_named(rules: rule_sources.RuleSet,
                                                          team: Manifest) -> None:
    assert [i.replace(str(team.stack_dir), "S") for i in rules.ignored_fields()] == [
        "S/team/mimir/tenant-a.yaml: line 6: group 'tenant-a-recording' field "
        "evaluation_delay (Mimir/Cortex)",
        "S/team/mimir/tenant-a.yaml: line 5: group 'tenant-a-recording' field "
        "source_tenants (Mimir/Cortex)",
        "S/team/thanos/rules.yml: line 6: group 'node-filesystem' field "
        "partial_response_strategy (Thanos)",
    ]
    extracted = "\n".join(p.read_text() for p in rules.extracted)
    assert "partial_response_strategy" not in extracted
    assert "source_tenants" not in extracted


def test_promtool_accepts_every_extracted_group(rules: rule_sources.RuleSet) -> None:
    result = toolchecks.check_rules(rules.extracted)
    assert result.ok, result.output
    assert result.output.count("SUCCESS") == len(rules.extracted) == 9
    assert toolchecks.lint_findings(result) == []
    # The live reach check names the team's file too, not the extracted copy.
    reach = {r.name: r.file for r in rule_reach.load_rules(rules.extracted, Path("/"))}
    assert reach["TargetDown"].endswith("bundle.yaml:19 (document 2, PrometheusRule "
                                        "monitoring/platform-rules group 'targets')")
    # and the reach allowlist's `file:` entries name the team's file, as they see it.
    loaded = rule_reach.load_rules(rules.extracted, Path("/"))
    target_down = next(r for r in loaded if r.name == "TargetDown")
    assert rule_reach._allowed_origin(target_down, {"team/k8s/rules/bundle.yaml": "ok"}) == "ok"
    assert rule_reach._allowed_origin(target_down, {"team/k8s/rules/list.yaml": "no"}) is None


def test_the_known_fields_are_exactly_those_promtool_accepts(tmp_path: Path) -> None:
    """A field dropped that Prometheus knows would be a silent loss; one kept that it does
    not know, a rejected file: promtool decides both."""
    group = {"name": "g", "interval": "1m", "query_offset": "1m", "limit": 10,
             "labels": {"team": "a"},
             "rules": [{"alert": "A", "expr": "up == 0", "for": "1m", "keep_firing_for": "1m",
                        "labels": {"x": "y"}, "annotations": {"s": "t"}},
                       {"record": "r:up", "expr": "up", "labels": {"x": "y"}}]}
    assert set(group) == rule_sources.GROUP_FIELDS
    assert set(group["rules"][0]) | {"record"} == rule_sources.RULE_FIELDS  # type: ignore[index]
    accepted = tmp_path / "all.yml"
    accepted.write_text(yaml.safe_dump({"groups": [group]}))
    assert toolchecks.check_rules([accepted]).ok
    for extra in rule_sources.KNOWN_EXTRA_FIELDS:
        refused = tmp_path / f"{extra}.yml"
        refused.write_text(yaml.safe_dump({"groups": [{**group, extra: "x"}]}))
        with pytest.raises(ConfigError, match=f"field {extra} not found"):
            toolchecks.check_rules([refused])


def test_a_broken_rule_in_a_crd_names_the_teams_file_document_and_group(tmp_path: Path) -> None:
    stack = team_stack(tmp_path)
    bundle = stack / "team" / "k8s" / "rules" / "bundle.yaml"
    bundle.write_text(bundle.read_text().replace("expr: up == 0", "expr: up === 0"))
    with pytest.raises(ConfigError) as caught:
        validate_sources(load_manifest(stack / "stack.yaml"))
    error = caught.value
    assert (error.path, error.line) == (bundle, 19)
    # promtool's own words, then where in the team's file.
    assert error.detail == (
        'group "targets", rule 1, "TargetDown": could not parse expression: 1:6: parse error: '
        "unexpected \"=\" (in document 2, PrometheusRule monitoring/platform-rules group "
        "'targets')")
    assert "checked with promtool check rules" in str(error)


def test_the_static_checks_pass_on_every_shape(team: Manifest) -> None:
    """promtool (config and every extracted file), the routing check and amtool: no false
    problem on code nobody here wrote. The one piece of advice is true: ScrapeSlow
    (severity info) now reaches the route the sample keeps for other sources."""
    with pytest.warns(RouteForOtherSourcesWarning) as said:
        validate_sources(team)
    assert [str(w.message).split(": ", 1)[1] for w in said] == [
        'the kept route {severity="info"} is no route of the config that the rules cannot '
        "reach: remove it, or fix it"]


def test_a_timing_table_runs_on_rule_files_sharing_a_group_name(
        rules: rule_sources.RuleSet) -> None:
    assert len([f for f in rules.files if "node-filesystem" in f.read_text()]) == 2
    result, generated = ruletests.run_table(
        rules.files, "1m",
        [('up{job="node",instance="db-1:9100"}', "1x15 0x30")],
        [ruletests.ExpectedAlert("20m", "TargetDown", None),
         ruletests.ExpectedAlert("26m", "TargetDown",
                                 {"severity": "critical", "job": "node", "instance": "db-1:9100"})])
    assert result.ok, f"{result.output}\n{generated}"


def test_a_lint_duplicate_names_its_file_and_rule(tmp_path: Path) -> None:
    stack = team_stack(tmp_path)
    mimir = stack / "team" / "mimir" / "tenant-a.yaml"
    mimir.write_text(mimir.read_text() + "      - record: job:up:sum\n"
                                          "        expr: sum by (job) (up)\n")
    folder = tmp_path / "extracted"
    try:
        rule_set = rule_sources.rule_set(load_manifest(stack / "stack.yaml"), folder)
        findings = [str(f) for f in toolchecks.lint_findings(
            toolchecks.check_rules(rule_set.files))]
    finally:
        origins.forget(folder)
    assert findings == [f"{mimir}:4 (Mimir namespace tenant-a group 'tenant-a-recording'): "
                        "rule job:up:sum: duplicate rule(s) found"]


def test_a_file_no_source_loads_is_named(tmp_path: Path) -> None:
    stack = team_stack(tmp_path)
    stray = stack / "prometheus" / "rules" / "kube-prometheus.yaml"
    shutil.copy(FIXTURES / "k8s" / "rules" / "node-rules.yaml", stray)
    (stack / "team" / "dashboards" / "exported.yaml").write_text("apiVersion: v1\nkind: List\n")
    # Beside rules, Kubernetes repositories keep files that are no monitoring code at all.
    (stack / "prometheus" / "rules" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [kube-prometheus.yaml]\n")
    found = rule_sources.unloaded(load_manifest(stack / "stack.yaml"))
    assert found == [
        "stack/prometheus/rules/kube-prometheus.yaml is not loaded: it holds monitoring code "
        "(PrometheusRule), "
        "but no source reads it (this folder is read by rule_files 'rules/*.yml' of "
        "prometheus/prometheus.yml). Add it to stack.yaml's sources, match it with a glob, "
        "or move it out of the folder",
        "stack/team/dashboards/exported.yaml is not loaded: it holds monitoring code (List), "
        "but no source reads "
        "it (this folder is read by sources.dashboards 'team/dashboards/*.json'). Add it to "
        "stack.yaml's sources, match it with a glob, or move it out of the folder",
    ]


def test_the_sample_stack_loads_every_file_it_keeps() -> None:
    assert rule_sources.unloaded(load_manifest(STACK / "stack.yaml")) == []


# ---- dashboards ---------------------------------------------------------------------


def test_every_dashboard_shape_is_read(team: Manifest) -> None:
    found = dashboard_sources.boards(team)
    shapes = {b.uid: b.shape for b in found.boards}
    assert shapes == {
        "obs-application": "classic", "obs-business": "classic", "obs-system": "classic",
        "legacy-node": "classic", "team-logs": "classic",
        "team-node-v2": "schema v2beta1",
        "kube-node": "ConfigMap (classic)", "kube-scrape": "ConfigMap (classic)",
        "operator-up": "GrafanaDashboard", "mixin-node": "classic",
        "operator-scrape-v2": "schema v2beta1",
    }
    assert [b.uid for b in found.boards if not b.file_provisioned] == [
        "team-node-v2", "operator-scrape-v2"]
    [skipped] = found.skipped
    assert str(skipped).endswith("(document 2, GrafanaDashboard from-grafana-com): its dashboard "
                                 "comes from spec.url, which only the operator fetches or "
                                 "renders: not checked here")
    kube = next(b for b in found.boards if b.uid == "kube-scrape")
    assert str(kube.origin) == (f"{team.stack_dir}/team/k8s/dashboards/configmaps.yaml:3 "
                                "(ConfigMap items[1] grafana-dashboard-scrape key scrape.json)")


def test_no_shape_gets_a_false_error(team: Manifest) -> None:
    datasources = provisioned(team.stack_dir / "grafana" / "provisioning")
    found = dashboard_sources.boards(team).boards
    problems = [p for b in found for p in dashboards.static_problems(b, datasources)]
    errors, advice = dashboards.split(problems)
    assert errors == []
    # Advice only: two 2017 graphs without a unit, and a library panel only Grafana holds.
    assert sorted({(p.dashboard.name.split(" ")[0], p.panel, p.advice) for p in advice}) == [
        ("legacy-rows.json", "Available memory", "panel-units"),
        ("legacy-rows.json", "Load", "panel-units"),
        ("node-v2.json", "(dashboard)", "library-panel"),
    ]


def test_rows_of_an_old_schema_become_panels_as_grafana_migrates_them() -> None:
    [board] = dashboard_sources.boards_in_file(FIXTURES / "dashboards" / "legacy-rows.json")[0]
    panels = board.data["panels"]
    assert [(p["type"], p["title"]) for p in panels] == [
        ("graph", "Load"), ("singlestat", "Targets up"), ("row", "CPU"), ("row", "Memory")]
    assert [p["gridPos"] for p in panels[:2]] == [{"x": 0, "y": 1, "w": 12, "h": 7},
                                                 {"x": 12, "y": 1, "w": 12, "h": 7}]
    assert [p["title"] for p in panels[3]["panels"]] == ["Available memory"]
    assert board.schema_version == 14


def test_an_unreadable_schema_is_an_error_and_builtins_are_not(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "dashboards" / "logs-auto.json").read_text())
    data["schemaVersion"] = 6
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    messages = [p.message for p in dashboards.static_problems(old, [])]
    assert any("schemaVersion 6 is older than Grafana migrates" in m for m in messages)
    assert not any("undefined template variable" in m for m in messages)  # $__auto


def test_the_advice_allowlist_silences_what_it_names(tmp_path: Path) -> None:
    allow = tmp_path / "dashboard-lint.yml"
    allow.write_text("exclusions:\n  panel-units:\n    - dashboard: legacy-rows.json\n"
                     "      reason: graph panels of 2017 keep their units in yaxes\n")
    problems = dashboards.static_problems(FIXTURES / "dashboards" / "legacy-rows.json", [])
    assert [p.advice for p in dashboards.split(problems, dashboards.exclusions(allow))[1]
            if p.advice == "panel-units"] == []
    allow.write_text("exclusions:\n  panel-units:\n    - dashboard: x\n")
    with pytest.raises(ConfigError, match="needs a mapping with a reason"):
        dashboards.exclusions(allow)


# ---- rendered and live -------------------------------------------------------------


def test_the_rendered_stack_loads_every_shape(team: Manifest, tmp_path: Path) -> None:
    """promtool check config accepts the rendered Prometheus config (render checks it),
    which loads the extracted groups; Grafana's folder gets the other shapes, Loki's
    ruler its files by tenant, compressed."""
    with pytest.warns(RouteForOtherSourcesWarning):  # as in the static check above
        rendered = render_stack(team, tmp_path / "run", addresses=ADDRESSES, time_scale=60)
    config = yaml.safe_load(rendered.configs["prometheus"].read_text())
    assert f"{rule_sources.EXTRACTED_DIR}/*.yml" in config["rule_files"]
    extracted = sorted((rendered.configs["prometheus"].parent / rule_sources.EXTRACTED_DIR)
                       .glob("*.yml"))
    assert len(extracted) == 9
    provisioned_files = sorted((tmp_path / "run" / "grafana" / "dashboards" /
                                "obsharness-sources").glob("*.json"))
    # Outside Grafana's folder or in other shapes, as classic JSON: team/dashboards (2 of 3:
    # the classic file provider cannot load schema v2), the ConfigMaps (2), the operator's
    # and the mixin's.
    assert len(provisioned_files) == 6
    assert all("panels" in json.loads(p.read_text()) for p in provisioned_files)
    assert "team-node-v2" not in {json.loads(p.read_text()).get("uid") for p in provisioned_files}
    loki = sorted((tmp_path / "run" / "loki" / loki_rules.RULES_DIR /
                   loki_rules.SINGLE_TENANT).glob("*.yml"))
    assert [p.name for p in loki] == ["000-security.yml", "001-team-logs.yml"]
    team_logs = yaml.safe_load(loki[1].read_text())["groups"][0]
    assert team_logs["interval"] == "1s"
    assert team_logs["rules"][0]["for"] == "10s"
    assert "[5s]" in team_logs["rules"][0]["expr"]
    assert rendered.timing.alert_for_ms["ErrorLogLinesHigh"] == 10_000


def test_loki_alerts_are_routed_and_never_given_to_promtool(team: Manifest,
                                                           rules: rule_sources.RuleSet) -> None:
    loki_files = loki_rules.files(team)
    names = {a["alertname"] for a in alertrouting.possible_alerts([*rules.files, *loki_files])}
    assert {"ErrorLogLinesHigh", "FailedLoginLogBurst", "TargetDown"} <= names
    assert not set(loki_files) & set(rules.files)


@pytest.mark.slow
def test_a_real_prometheus_evaluates_every_shape_and_the_live_dashboard_check_is_clean(
        tmp_path: Path) -> None:
    stack_dir = team_stack(tmp_path, advice_taken=True)
    manifest = load_manifest(stack_dir / "stack.yaml")
    with WebhookSink() as hook, SmtpSink() as mail, ProcessStack(
        manifest, tmp_path / "run", time_scale=60, only=["prometheus", "node-exporter"],
        sink_addresses={"alert-webhook": hook.address, "mail-relay": mail.address},
    ) as stack:
        prometheus = PrometheusClient(stack.url("prometheus"))
        wait_for_targets(prometheus, {"node", "prometheus"}, timeout=30)
        expected = set(_groups_of(manifest))
        assert len(expected) == 9  # node-filesystem twice, in two files

        def evaluated() -> dict[str, list[str]]:
            groups = {g["name"]: g for g in prometheus.rules()}
            return {name: [f"{r['name']}: {r.get('health')} {r.get('lastError', '')}"
                           for r in groups[name]["rules"]]
                    for name in expected & set(groups)
                    if all(r.get("health") != "unknown" for r in groups[name]["rules"])}

        health = eventually(evaluated, lambda found: set(found) == expected, timeout=30,
                            interval=0.5, what="every extracted group evaluated").value
        assert all(line.endswith(": ok ") for lines in health.values() for line in lines), health
        datasources = provisioned(stack_dir / "grafana" / "provisioning")
        team_boards = [b for b in dashboard_sources.boards(manifest).boards
                       if b.uid in {"legacy-node", "team-node-v2", "kube-node", "kube-scrape",
                                    "operator-up", "mixin-node", "operator-scrape-v2"}]
        queries = [q for b in team_boards for q in dashboards.queries(b.label, b.data,
                                                                      datasources)]
        assert len([q for q in queries if q.datasource_type == "prometheus"]) == 9
        assert eventually(
            lambda: dashboards.live_report(prometheus, team_boards, datasources, [], "4s"),
            lambda problems: not problems, timeout=30, interval=0.5,
            what="every team dashboard's Prometheus panels returning data").value == []
        # The check can fail on the v2 shape: a metric name typo there is named.
        v2 = next(b for b in team_boards if b.uid == "team-node-v2")
        typo = copy.deepcopy(v2)
        target = typo.data["panels"][0]["targets"][0]
        target["expr"] = target["expr"].replace("node_cpu_seconds_total", "node_cpu_second_total")
        [problem] = dashboards.live_report(prometheus, [typo], datasources, [], "4s")
        assert "'CPU busy by instance'" in problem
        assert "returns no data" in problem
        assert "team_shapes" not in problem  # the copy in the stack is named, not the fixture
        assert "node-v2.json" in problem


def _groups_of(manifest: Manifest) -> list[str]:
    return [str(g["name"]) for f in rule_sources.extract(manifest) for d in f.documents
            for g in d.groups]


def test_a_mixin_that_does_not_evaluate_is_named_with_jsonnets_message(tmp_path: Path) -> None:
    stack = team_stack(tmp_path)
    lib = stack / "team" / "mixin" / "vendor" / "github.com" / "acme" / "promlib" / \
        "alerts.libsonnet"
    lib.write_text(lib.read_text().replace("alert: name,", "alert: nam,"))
    with pytest.raises(ConfigError) as caught:
        rule_sources.extract(load_manifest(stack / "stack.yaml"))
    assert caught.value.path.name == "alerts.libsonnet"
    assert caught.value.line == 4
    assert "Unknown variable: nam" in caught.value.detail
    assert "checked with jsonnet" in str(caught.value)


def test_a_render_command_that_is_not_installed_says_so(tmp_path: Path) -> None:
    stack = team_stack(tmp_path, {"rules": [{"render": ["helm-not-installed-here", "template",
                                                        "charts/monitoring"]}]})
    with pytest.raises(ConfigError, match="`helm-not-installed-here` is not installed here, so "
                                          "the source 'helm-not-installed-here template "
                                          "charts/monitoring' cannot be rendered"):
        rule_sources.extract(load_manifest(stack / "stack.yaml"))
    failing = team_stack(tmp_path / "failing", {"rules": [{"render": ["cat", "no-such-file"]}]})
    with pytest.raises(ConfigError, match=r"exit 1: \S*cat: no-such-file: No such file"):
        rule_sources.extract(load_manifest(failing / "stack.yaml"))


def test_loki_rule_files_are_checked_for_what_the_ruler_refuses(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text("groups:\n  - name: a\n    rules: [{alert: A, expr: '{a=\"b\"}', for: 5x}]\n")
    with pytest.raises(ConfigError, match=r"rules.yml:2 is invalid .*for '5x' is not a duration"):
        loki_rules.read(path)
    path.write_text("groups:\n  - name: a\n    rules: []\n  - name: a\n    rules: []\n")
    with pytest.raises(ConfigError, match=r"rules.yml:4 .*group name 'a' is empty or repeated"):
        loki_rules.read(path)


STATIC_FEATURE = """Feature: The team's rules
  Scenario: promtool accepts every rule file, in whichever shape it is kept
    Given the deployable configs under stack/
    Then promtool check rules accepts every rule file
    And every file in the folders the rule and dashboard sources read is loaded by one
"""


def _static_run(tmp_path: Path, stack: Path, *args: str) -> subprocess.CompletedProcess[str]:
    features = tmp_path / "features"
    features.mkdir(exist_ok=True)
    (features / "team.feature").write_text(STATIC_FEATURE)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W",
         "default::obsharness.errors.ObsharnessWarning",
         "-o", f"bdd_features_base_dir={features}", "steps/test_scenarios.py",
         f"--run-dir={tmp_path / 'run'}", f"--junitxml={tmp_path / 'j.xml'}",
         f"--cucumberjson={tmp_path / 'c.json'}", *args],
        cwd=ROOT, env=_env(OBSHARNESS_STACK=str(stack / "stack.yaml")),
        capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_promtools_lint_is_a_warning_by_default_and_an_error_with_lint_fatal(
        tmp_path: Path) -> None:
    stack = team_stack(tmp_path, advice_taken=True)
    mimir = stack / "team" / "mimir" / "tenant-a.yaml"
    mimir.write_text(mimir.read_text() + "      - record: job:up:sum\n"
                                          "        expr: sum by (job) (up)\n")
    finding = (f"{mimir}:4 (Mimir namespace tenant-a group 'tenant-a-recording'): rule "
               "job:up:sum: duplicate rule(s) found")
    warned = _static_run(tmp_path, stack)
    assert warned.returncode == 0, warned.stdout + warned.stderr
    assert f"RuleLintWarning: {finding}" in warned.stdout
    fatal = _static_run(tmp_path, stack, "--lint-fatal")
    assert fatal.returncode == 1, fatal.stdout + fatal.stderr
    assert "AssertionError: promtool's rule lint (--lint-fatal):" in fatal.stdout
    assert finding in fatal.stdout
    # And a PrometheusRule named as kube-prometheus names it, beside `rules/*.yml`: named.
    shutil.copy(FIXTURES / "k8s" / "rules" / "node-rules.yaml",
                stack / "prometheus" / "rules" / "kube-prometheus.yaml")
    stray = _static_run(tmp_path, stack)
    assert stray.returncode == 1, stray.stdout + stray.stderr
    assert ("stack/prometheus/rules/kube-prometheus.yaml is not loaded: it holds "
            "monitoring code (PrometheusRule), but no source reads it") in stray.stdout


def test_a_loki_rule_selecting_on_a_label_no_stream_carries_is_named() -> None:
    rules = loki_rules.read(FIXTURES / "loki" / "rules" / "team-logs.yml")
    labels = {"service", "level", "log_type"}  # what the sample's agents send
    assert loki_rules.blind_selectors([rules], labels) == []
    assert loki_rules.blind_selectors([rules], {"service", "log_type"}) == [
        f"{rules.path}: group team-log-alerts rule ErrorLogLinesHigh selects on label(s) level "
        "that no stream in Loki carries (labels in Loki: log_type, service)"]
