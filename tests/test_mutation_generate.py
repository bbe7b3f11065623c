"""Mutant generation on configs in the shapes teams write (not the sample stack's):
every operator, files the sample stack does not have, patterns that do not apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from obsharness.errors import MutationError
from obsharness.mutation.generate import all_mutants, mutants_of_file, select
from obsharness.mutation.model import Mutant

RULES = """\
# Started from a community pack (node-exporter mixin style).
groups:
  - name: node.rules
    rules:
      - record: instance:node_cpu_utilisation:rate5m
        expr: 1 - avg without (cpu) (rate(node_cpu_seconds_total{mode="idle"}[5m]))
      - record: cluster:node_cpu_utilisation:avg
        expr: avg by (cluster) (instance:node_cpu_utilisation:rate5m)
  - name: node.alerts
    rules:
      - alert: NodeFilesystemSpaceFillingUp
        expr: |
          predict_linear(node_filesystem_avail_bytes{fstype!="tmpfs"}[6h], 24*60*60) < 0
          and node_filesystem_avail_bytes{fstype!="tmpfs"} / node_filesystem_size_bytes < 0.15
        for: 1h
        labels:
          severity: warning
        annotations:
          summary: "Filesystem on {{ $labels.device }} will fill up within 24h"
      - alert: ClusterCPUHigh
        expr: cluster:node_cpu_utilisation:avg > 0.9
        labels:
          severity: critical
          team: infra
          service: '{{ $labels.cluster }}'
      - alert: Watchdog
        expr: vector(1)
"""

ALERTMANAGER = """\
route:
  receiver: default
  routes:
    - match:
        severity: critical
      receiver: pager
      continue: true
    - match_re:
        service: ^(api|web)$
      receiver: slack
receivers:
  - name: default
    webhook_configs:
      - url: https://hooks.example.com/alertmanager
  - name: pager
    email_configs:
      - to: pager@example.com
  - name: slack
    webhook_configs:
      - url: https://chat.example.com/hook
        send_resolved: false
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname, cluster]
"""

PROMETHEUS = """\
global:
  scrape_interval: 30s
scrape_configs:
  - job_name: kubernetes-pods
    kubernetes_sd_configs:
      - role: pod
    relabel_configs:
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
  - job_name: blackbox
    metrics_path: /probe
    static_configs:
      - targets: ["blackbox:9115"]
        labels:
          probe: http
"""

PROMTAIL = """\
clients:
  - url: http://loki.example:3100/loki/api/v1/push
scrape_configs:
  - job_name: journal
    journal:
      labels:
        job: systemd-journal
    pipeline_stages:
      - json:
          expressions:
            level: lvl
      - labels:
          level:
"""

DASHBOARD = {
    "__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}],
    "title": "Node", "uid": "node",
    "templating": {"list": [
        {"name": "job", "type": "query", "datasource": {"uid": "${DS_PROMETHEUS}"},
         "query": "label_values(node_uname_info, job)"},
        {"name": "instance", "type": "query", "datasource": {"uid": "${DS_PROMETHEUS}"},
         "query": {"query": 'label_values(node_uname_info{job="$job"}, instance)',
                   "refId": "A"}},
        {"name": "interval", "type": "interval", "query": "1m,5m"},
    ]},
    "panels": [
        {"type": "row", "title": "CPU", "panels": [
            {"type": "timeseries", "title": "CPU busy",
             "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
             "targets": [{"datasource": {"uid": "${DS_PROMETHEUS}"},
                          "expr": 'sum(rate(node_cpu_seconds_total{instance="$instance",'
                                  'mode!="idle"}[$__rate_interval]))'}]}]},
        {"type": "text", "title": "Notes", "options": {"content": "hello"}},
    ],
}

TERRAFORM = """\
resource "aws_security_group_rule" "db" {
  type        = "ingress"
  from_port   = 5432
  to_port     = 5432
  cidr_blocks = [var.private_cidr]
}
"""

APP = """\
def observe(self, method, route, status):
    REQUESTS.labels(service=SERVICE, route=route, status=str(status)).inc()
    log.write("info", "access", "done", request_id=rid)
    response.headers["X-Request-ID"] = rid
"""


def _by_operator(mutants: list[Mutant]) -> dict[str, list[Mutant]]:
    found: dict[str, list[Mutant]] = {}
    for mutant in mutants:
        found.setdefault(mutant.operator, []).append(mutant)
    return found


def test_rule_operators_on_a_community_pack() -> None:
    mutants = list(mutants_of_file("stack/prometheus/rules/node.yml", RULES))
    ops = _by_operator(mutants)
    for mutant in mutants:
        assert yaml.safe_load(mutant.mutated)["groups"], mutant.description  # still YAML
        assert mutant.flow == "rules"
    described = {m.description for m in mutants}
    # predict_linear's multi-line expression: the last comparison gets the threshold.
    assert "NodeFilesystemSpaceFillingUp: < 0.15 -> < 0.015" in described
    assert "NodeFilesystemSpaceFillingUp: < -> >" in described
    assert "NodeFilesystemSpaceFillingUp: for 1h -> 10h" not in described  # 600m
    assert "NodeFilesystemSpaceFillingUp: for 1h -> 600m" in described
    assert "ClusterCPUHigh: for (none) -> 1h" in described
    assert "ClusterCPUHigh: severity critical -> warning" in described
    assert "ClusterCPUHigh: label team infra -> inra" in described
    # A templated label is not a constant to misspell.
    assert not any("label service" in d for d in described)
    # The recording-rule chain: the record renamed and its consumer's metric misspelt.
    assert ("cluster:node_cpu_utilisation:avg: record cluster:node_cpu_utilisation:avg -> "
            "cluster:node_cpu_utiliation:avg") in described
    assert "ClusterCPUHigh: cluster:node_cpu_utilisation:avg -> " \
           "cluster:node_cpu_utiliation:avg" in described
    assert ("instance:node_cpu_utilisation:rate5m: without (cpu) -> without (cpu, service)"
            in described)
    assert "cluster:node_cpu_utilisation:avg: by (cluster) -> no grouping" in described
    # Watchdog has no comparison and no metric: only deletion and `for`.
    assert {m.operator for m in mutants if m.description.startswith("Watchdog")} == {
        "rule deleted", "for changed"}
    deleted = next(m for m in ops["rule deleted"] if m.description.startswith("ClusterCPUHigh"))
    names = [r.get("alert") for g in yaml.safe_load(deleted.mutated)["groups"]
             for r in g["rules"]]
    assert "ClusterCPUHigh" not in names
    assert "Watchdog" in names
    # The block scalar stays a block scalar: the diff is one line.
    scaled = next(m for m in ops["threshold scaled"] if "0.15" in m.description)
    assert scaled.diff().count("\n-  ") + scaled.diff().count("\n+  ") == 2


def test_alertmanager_operators_on_legacy_matchers_and_continue() -> None:
    mutants = list(mutants_of_file("stack/alertmanager/am.yml", ALERTMANAGER))
    described = {m.description for m in mutants}
    assert "route at line 4: continue -> false" in described
    # The last route: `continue: true` there is equivalent by construction.
    assert not any(d.startswith("route at line 8: continue") for d in described)
    assert "route at line 4: severity: critical -> critcal" in described
    assert "route at line 8: service: ^(api|web)$ -> ^(apiweb)$" in described
    assert "root route: receiver default -> pager" in described
    assert "root route: group_wait (30s) -> 1h" in described
    # send_resolved: on by default for webhooks (made false), off by default for email.
    assert "default webhook_configs: send_resolved -> false" in described
    assert not any("pager email_configs: send_resolved" in d for d in described)
    assert not any("slack webhook_configs: send_resolved" in d for d in described)
    assert "pager email_configs: to pager@example.com -> pagers@example.com" in described
    assert "inhibit rule 1: equal ['alertname', 'cluster'] -> ['alername', 'cluster']" \
        in described
    for mutant in mutants:
        config = yaml.safe_load(mutant.mutated)
        assert config["receivers"], mutant.description
    flipped = next(m for m in mutants if m.description == "route at line 4: continue -> false")
    assert yaml.safe_load(flipped.mutated)["route"]["routes"][0]["continue"] is False


def test_prometheus_operators_without_static_targets() -> None:
    mutants = list(mutants_of_file("stack/prometheus/prometheus.yml", PROMETHEUS))
    described = {m.description for m in mutants}
    assert "job kubernetes-pods removed" in described
    assert not any(d.startswith("job kubernetes-pods: kubernetes") for d in described)
    assert "job kubernetes-pods: relabel_configs target_label namespace -> namepace" in described
    assert "job blackbox: metrics_path /probe -> /probes" in described
    assert "job blackbox: blackbox:9115 -> blackbox:9116" in described
    assert "job blackbox: labeldrop probe" in described
    dropped = next(m for m in mutants if m.description == "job blackbox: labeldrop probe")
    job = yaml.safe_load(dropped.mutated)["scrape_configs"][1]
    assert job["metric_relabel_configs"] == [{"action": "labeldrop", "regex": "probe"}]
    assert not any(m.operator == "alertmanager target changed" for m in mutants)


def test_promtail_journal_and_alloy_operators() -> None:
    mutants = list(mutants_of_file("stack/promtail/journal.yml", PROMTAIL))
    described = {m.description for m in mutants}
    assert ("client url http://loki.example:3100/loki/api/v1/push -> "
            "http://loki.example:3101/loki/api/v1/push") in described
    assert "labels stage: level no longer a label" in described
    promoted = next(m for m in mutants if m.operator == "label promoted")
    stages = yaml.safe_load(promoted.mutated)["scrape_configs"][0]["pipeline_stages"]
    assert stages[0]["json"]["expressions"]["request_id"] == "request_id"
    assert "request_id" in stages[1]["labels"]
    # The journal's own `labels:` (job) is not a pipeline stage to drop from.
    assert not any("job no longer" in d for d in described)
    alloy = 'loki.write "x" {\n  endpoint {\n    url = "https://logs.example:443/push"\n  }\n}\n'
    [moved] = mutants_of_file("stack/alloy/agent.alloy", alloy)
    assert moved.description == "url https://logs.example:443/push -> https://logs.example:444/push"


def test_grafana_operators_on_an_inputs_export_with_chained_variables() -> None:
    text = json.dumps(DASHBOARD)  # one line, as a catalogue download can be
    mutants = list(mutants_of_file("stack/grafana/dashboards/node.json", text))
    described = {m.description for m in mutants}
    assert "panel 'CPU busy': node_cpu_seconds_total -> node_cpu_secnds_total" in described
    assert "variable $job: label_values(node_uname_info, job) -> " \
           "label_values(node_uname_info, jb)" in described
    assert ("variable $instance: label_values(node_uname_info{job=\"$job\"}, instance) -> "
            "label_values(node_uname_info{job=\"$job\"}, instnce)") in described
    uid = next(m for m in mutants if m.operator == "panel datasource uid changed")
    panel = json.loads(uid.mutated)["panels"][0]["panels"][0]
    assert panel["datasource"]["uid"] == panel["targets"][0]["datasource"]["uid"] != \
        "${DS_PROMETHEUS}"
    assert not any("Notes" in d for d in described)  # a text panel has no query
    # The diff is against the same two-space serialisation, so it is small.
    assert len(uid.diff().splitlines()) < 20
    provisioning = "apiVersion: 1\ndatasources:\n  - name: Mimir\n    type: prometheus\n" \
                   "    uid: mimir-prod\n"
    [changed] = mutants_of_file("stack/grafana/provisioning/datasources/mimir.yml",
                                provisioning)
    assert changed.description == "datasource Mimir: uid mimir-prod -> mimirprod"


def test_code_operators_on_an_app_terraform_and_an_ansible_filter() -> None:
    app = {m.description for m in mutants_of_file("stack/apps/shop/metrics.py", APP)}
    assert app == {'line 2: status label status=str(status) -> status="200"',
                   "line 3: log type access -> performance",
                   "line 4: X-Request-ID no longer returned"}
    tf = {m.description for m in mutants_of_file("infra/terraform/db.tf", TERRAFORM)}
    assert 'line 5: [var.private_cidr] -> ["0.0.0.0/0"] (the world)' in tf
    assert "line 3: from_port   = 5432 -> 5433" in tf
    assert "line 4: to_port     = 5432 -> 5433" in tf
    plugin = "import copy\n\ndef f(config):\n    result = copy.deepcopy(config)\n    return result\n"
    [dropped] = mutants_of_file("infra/ansible/filter_plugins/x.py", plugin)
    namespace: dict[str, object] = {}
    exec(compile(dropped.mutated, "x.py", "exec"), namespace)
    f = namespace["f"]
    assert callable(f)
    assert f({"a": 1, "b": 2}) == {"b": 2}


@pytest.mark.parametrize(("path", "text"), [
    ("stack/prometheus/rules/empty.yml", "groups: []\n"),
    ("stack/notes/readme.yml", "title: not a config of any kind\n"),
    ("stack/grafana/dashboards/broken.json", "{not json"),
    ("stack/grafana/dashboards/list.json", "[1, 2]"),
    ("stack/apps/shop/util.py", "def add(a, b):\n    return a + b\n"),
    ("infra/terraform/outputs.tf", 'output "x" {\n  value = 1\n}\n'),
    ("stack/alloy/empty.alloy", "// nothing\n"),
])
def test_a_file_where_no_pattern_applies_gets_no_mutant(path: str, text: str) -> None:
    assert list(mutants_of_file(path, text)) == []


def test_a_teams_own_files_are_found_by_kind_and_stack_is_not_written(tmp_path: Path) -> None:
    (tmp_path / "stack" / "rules-team").mkdir(parents=True)
    (tmp_path / "stack" / "stack.yaml").write_text("version: 1\n")
    (tmp_path / "stack" / "rules-team" / "node.yaml").write_text(RULES)
    (tmp_path / "stack" / "am").mkdir()
    (tmp_path / "stack" / "am" / "routing.yml").write_text(ALERTMANAGER)
    (tmp_path / "stack" / "apps" / "x" / "node_modules").mkdir(parents=True)
    (tmp_path / "stack" / "apps" / "x" / "node_modules" / "lib.js").write_text(
        'log("info", "access", "x")\n')
    before = {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    mutants = all_mutants(tmp_path)
    assert {m.path for m in mutants} == {"stack/rules-team/node.yaml", "stack/am/routing.yml"}
    assert {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert len({m.id for m in mutants}) == len(mutants)


def test_continue_is_not_added_where_no_later_route_could_match() -> None:
    text = ("route:\n  receiver: a\n  routes:\n"
            "    - matchers: ['severity=\"critical\"']\n      receiver: b\n"
            "    - matchers: ['severity=\"warning\"']\n      receiver: a\n"
            "    - match: {team: db}\n      receiver: c\n"
            "receivers: [{name: a}, {name: b}, {name: c}]\n")
    added = {m.description for m in mutants_of_file("stack/am.yml", text)
             if m.operator == "continue flipped"}
    # critical: the db route after it can match a critical alert; warning: the same;
    # the db route is last.
    assert added == {"route at line 4: continue (false) -> true",
                     "route at line 6: continue (false) -> true"}
    no_db = text.replace("    - match: {team: db}\n      receiver: c\n", "")
    assert not [m for m in mutants_of_file("stack/am.yml", no_db)
                if m.operator == "continue flipped"]  # severity values are disjoint


def test_selection_is_deterministic_spread_over_flows_and_checked() -> None:
    mutants = [*mutants_of_file("stack/r.yml", RULES),
               *mutants_of_file("stack/am.yml", ALERTMANAGER)]
    first = select(mutants, max_mutants=6, seed=7)
    assert [m.id for m in first] == [m.id for m in select(mutants, max_mutants=6, seed=7)]
    assert [m.id for m in first] != [m.id for m in select(mutants, max_mutants=6, seed=8)]
    assert {m.flow for m in first} == {"rules", "alertmanager"}
    assert len(first) == 6
    assert {m.flow for m in select(mutants, only=["alertmanager"])} == {"alertmanager"}
    with pytest.raises(MutationError, match="unknown flow.*dashboards"):
        select(mutants, only=["dashboards"])


def test_a_key_added_to_a_route_with_child_routes_lands_in_that_route() -> None:
    text = ("route:\n  receiver: a\n  routes:\n    - matchers: [x=\"1\"]\n      receiver: b\n"
            "      routes:\n        - matchers: [y=\"2\"]\n          receiver: c\n"
            "    - matchers: [y=\"3\"]\n      receiver: a\nreceivers:\n  - name: a\n"
            "  - name: b\n  - name: c\n")
    flipped = next(m for m in mutants_of_file("stack/am.yml", text)
                   if m.description == "route at line 4: continue (false) -> true")
    routes = yaml.safe_load(flipped.mutated)["route"]["routes"]
    assert routes[0]["continue"] is True
    assert "continue" not in routes[1]
    assert "continue" not in routes[0]["routes"][0]


def test_the_remaining_operators_on_their_own_shapes() -> None:
    # The Alertmanager target of a Prometheus config.
    config = PROMETHEUS + ("alerting:\n  alertmanagers:\n    - static_configs:\n"
                           "        - targets: [\"am.monitoring:9093\"]\n")
    described = {m.description for m in mutants_of_file("stack/p/prometheus.yml", config)}
    assert "alertmanager am.monitoring:9093 -> am.monitoring:9094" in described
    # Alloy: a label no longer promoted, a per-request field promoted.
    alloy = ('loki.process "p" {\n  stage.json {\n    expressions = {lvl = "level", '
             'svc = "service"}\n  }\n  stage.labels {\n    values = {lvl = "", svc = ""}\n'
             '  }\n  forward_to = []\n}\n')
    found = {m.description: m for m in mutants_of_file("stack/alloy/team.alloy", alloy)}
    assert 'values = {svc = ""}' in found["stage.labels: lvl no longer a label"].mutated
    promoted = found["request_id promoted to a label (one stream per value)"].mutated
    assert 'svc = "service", request_id = "request_id"}' in promoted
    assert 'svc = "", request_id = ""}' in promoted
    # A JavaScript client that sends the request id on its outgoing call.
    js = ('await fetch(url, { headers: { "content-type": "application/json", '
          '"x-request-id": req.requestId } });\n')
    [dropped] = mutants_of_file("stack/apps/web_app/server.js", js)
    assert dropped.description == "line 1: x-request-id header no longer sent"
    assert "x-request-id" not in dropped.mutated
    assert '"content-type": "application/json"' in dropped.mutated
    assert dropped.subjects[0] == "web-app"  # the service scenarios name
    # Terraform: a private port opened to the users' networks.
    tf = 'locals {\n  sources = contains(a, n) ? var.user_cidrs : [var.vpc_cidr]\n}\n'
    widened = {m.description for m in mutants_of_file("infra/terraform/t.tf", tf)}
    assert widened == {'line 2: [var.vpc_cidr] -> ["0.0.0.0/0"] (the world)',
                       "line 2: [var.vpc_cidr] -> var.user_cidrs (the users)"}


def test_mutants_of_loki_ruler_files_belong_to_the_logs_flow() -> None:
    """A LogQL rule's mistake is seen by Loki's ruler only: never counted among the
    Prometheus rules' mutants (where no Prometheus scenario could ever kill it)."""
    root = Path(__file__).resolve().parents[1]
    loki = [m for m in all_mutants(root) if m.path == "stack/loki/rules/security.yml"]
    assert {m.flow for m in loki} == {"logs"}
    assert "FailedLoginLogBurst: > 20 -> > 200" in {m.description for m in loki}


PROMETHEUS_RULE = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: postgres
  labels: {prometheus: k8s, role: alert-rules}
spec:
  groups:
    - name: postgres
      rules:
        # kube-prometheus' shape: the groups under spec
        - alert: PostgresqlDown
          expr: pg_up == 0
          for: 1m
          labels:
            severity: critical
"""


def test_a_prometheusrule_resource_is_mutated_like_a_rule_file() -> None:
    mutants = {m.description: m for m in mutants_of_file("deploy/k8s/pg.yaml",
                                                          PROMETHEUS_RULE)}
    assert {"PostgresqlDown: == 0 -> == 1", "PostgresqlDown: for 1m -> 10m",
            "PostgresqlDown: rule deleted", "PostgresqlDown: pg_up -> p_up"} <= set(mutants)
    assert all(m.flow == "rules" for m in mutants.values())
    flipped = yaml.safe_load(mutants["PostgresqlDown: == 0 -> == 1"].mutated)
    assert flipped["kind"] == "PrometheusRule"  # still the resource, one line changed
    assert flipped["spec"]["groups"][0]["rules"][0]["expr"] == "pg_up == 1"
    assert "# kube-prometheus' shape" in mutants["PostgresqlDown: == 0 -> == 1"].mutated
